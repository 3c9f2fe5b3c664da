/** Option parsers the simulators' commands share; a bad value is a usage error (exit 2). */
import { UsageError } from '@sovereign/pki/files';

export function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
    throw new UsageError(`--port ${value}: want a port number 0-65535`);
  return Number(value);
}

export function milliseconds(option: string) {
  return (value: string): number => {
    if (!/^\d{1,7}$/.test(value)) throw new UsageError(`${option} ${value}: want milliseconds, 0-9999999`);
    return Number(value);
  };
}

export function wholeNumber(option: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d{1,6}$/.test(value) || Number(value) < min || Number(value) > max)
      throw new UsageError(`${option} ${value}: want a whole number ${min}-${max}`);
    return Number(value);
  };
}

export function positiveNumber(option: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d*\.?\d+(e-?\d+)?$/i.test(value) || !(number > 0) || !Number.isFinite(number))
      throw new UsageError(`${option} ${value}: want a positive number`);
    return number;
  };
}
