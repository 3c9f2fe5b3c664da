import type { Phase } from '../instances/instance-types.js';
import type { BillingMode } from './billing-types.js';

/**
 * The meter: how much time of a period an instance is charged for, and what that time
 * costs. Time is counted in whole milliseconds and money in BigInt micro-units (a
 * millionth of the currency unit), so no sum or product ever goes through floating point.
 */

/** A half-open window [from, end) in epoch milliseconds: the period, cut short at now. */
export interface MeterWindow {
  from: number;
  end: number;
}

export interface MeteredTransition {
  toPhase: Phase;
  /** ISO-8601 */
  at: string;
}

const MICRO_PER_UNIT = 1_000_000n;
const MICRO_PER_CENT = 10_000n;
const MS_PER_HOUR = 3_600_000n;
/** A monthly rate is spread over 730 hours: 8,760 hours a year over 12 months, as cloud price lists do. */
const HOURS_PER_MONTH = 730n;

/** Milliseconds of [start, stop) that fall inside the window. */
const overlap = (window: MeterWindow, start: number, stop: number) =>
  Math.max(0, Math.min(stop, window.end) - Math.max(start, window.from));

/**
 * The charged milliseconds of one instance in the window, from its transitions in order
 * (launch first). On demand, only time in Ready is charged: from entering Ready until the
 * next transition (Stopped time is not charged). Reserved, the reservation is charged from
 * launch until the instance reaches Deleted or Failed, whether it runs or not. An interval
 * still open runs to the window's end.
 */
export function chargedMs(
  billing: BillingMode,
  transitions: readonly MeteredTransition[],
  window: MeterWindow,
): number {
  if (billing === 'reserved') {
    const launch = transitions[0];
    if (!launch) return 0;
    const end = transitions.find((t) => t.toPhase === 'Deleted' || t.toPhase === 'Failed');
    return overlap(window, Date.parse(launch.at), end ? Date.parse(end.at) : window.end);
  }
  let total = 0;
  let readySince: number | undefined;
  for (const transition of transitions) {
    const at = Date.parse(transition.at);
    if (readySince !== undefined) total += overlap(window, readySince, at);
    readySince = transition.toPhase === 'Ready' ? at : undefined;
  }
  if (readySince !== undefined) total += overlap(window, readySince, window.end);
  return total;
}

/** A catalog amount ("3.50", at most six places) in micro-units. */
export function toMicro(amount: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(amount);
  if (!match) throw new Error(`not a decimal amount: ${amount}`);
  return BigInt(match[1] as string) * MICRO_PER_UNIT + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** num / den for num ≥ 0, den > 0, rounded half up. */
const divideHalfUp = (num: bigint, den: bigint) => (2n * num + den) / (2n * den);

/**
 * The charge for `ms` milliseconds at a rate, in cents, rounded half up once from the
 * exact value: rate (micro-units per hour or month) × ms / (ms per hour or month).
 */
export function chargeCents(rate: { amount: string; per: 'hour' | 'month' }, ms: number): bigint {
  const msPerRatePeriod = rate.per === 'hour' ? MS_PER_HOUR : MS_PER_HOUR * HOURS_PER_MONTH;
  return divideHalfUp(toMicro(rate.amount) * BigInt(ms), msPerRatePeriod * MICRO_PER_CENT);
}

/** Cents as a decimal string with two places: 72000n → "720.00". */
export const formatCents = (cents: bigint): string => `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;

/** Milliseconds as hours with four places, rounded half up: 5_400_000 → "1.5000". */
export function formatHours(ms: number): string {
  const tenThousandths = divideHalfUp(BigInt(ms), MS_PER_HOUR / 10_000n);
  return `${tenThousandths / 10_000n}.${(tenThousandths % 10_000n).toString().padStart(4, '0')}`;
}
