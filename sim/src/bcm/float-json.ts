/**
 * JSON as CMDaemon writes it: some integer fields come out as floats (`"rackPosition":3.0`),
 * a quirk clients must tolerate. JSON.stringify cannot write `3.0`, so this serializer
 * does, for integers under the keys in `FLOAT_FIELDS`.
 */

export const FLOAT_FIELDS: ReadonlySet<string> = new Set(['rackPosition', 'memoryMiB', 'cores', 'port', 'height']);

export function toBcmJson(value: unknown, floatIntegers: boolean): string {
  if (!floatIntegers) return JSON.stringify(value);
  return write(value, false);
}

function write(value: unknown, asFloat: boolean): string {
  if (typeof value === 'number' && asFloat && Number.isInteger(value)) return `${value}.0`;
  if (Array.isArray(value)) return `[${value.map((item: unknown) => write(item ?? null, false)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => `${JSON.stringify(key)}:${write(field, FLOAT_FIELDS.has(key))}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
