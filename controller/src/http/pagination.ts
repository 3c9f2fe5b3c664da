import { z } from 'zod';
import { badRequest } from './problem.js';

/** `?limit=&cursor=` on every list endpoint. Cursors are opaque to clients. */
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type PageQuery = z.infer<typeof pageQuery>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** The id after which the next page starts (lists are ordered by id), or undefined for the first page. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const after = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]{2,3}_[a-z2-7]{16}$/.test(after)) throw badRequest('query: cursor: not a cursor this API issued');
  return after;
}

/** Builds a page from `limit + 1` rows fetched after the cursor: the extra row says whether more exist. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null };
}
