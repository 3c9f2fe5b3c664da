import type { UsageView } from './billing-types.js';

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

export const USAGE_CSV_COLUMNS = [
  'instance_id',
  'instance_name',
  'workspace_id',
  'profile_slug',
  'profile_version',
  'billing',
  'currency',
  'rate',
  'per',
  'charged_seconds',
  'charged_hours',
  'amount',
] as const;

/** What a spreadsheet reads as the start of a formula (or of a hidden one, after a tab or CR). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, a comma or a line break, quotes
 * doubled. A field a spreadsheet would run as a formula gets a leading apostrophe first, so it
 * shows as text; names are validated upstream, but an export must be safe whatever it holds.
 */
export function csvField(value: string | number): string {
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvRecord = (fields: readonly (string | number)[]) => `${fields.map(csvField).join(',')}\r\n`;

/** The report's instances as CSV: a header, then one record per instance, CRLF line ends. */
export function usageCsv(usage: UsageView): string {
  return [
    csvRecord(USAGE_CSV_COLUMNS),
    ...usage.instances.map((i) =>
      csvRecord([
        i.instanceId,
        i.name,
        i.workspaceId,
        i.profile.slug,
        i.profile.version,
        i.billing,
        i.cost.currency,
        i.cost.amount,
        i.cost.per,
        i.chargedSeconds,
        i.chargedHours,
        i.amount,
      ]),
    ),
  ].join('');
}

/** usage-ORG-FROM-TO.csv, with the period's UTC dates (to is exclusive). */
export const usageCsvFilename = (usage: UsageView): string =>
  `usage-${usage.orgId}-${usage.from.slice(0, 10)}-${usage.to.slice(0, 10)}.csv`;
