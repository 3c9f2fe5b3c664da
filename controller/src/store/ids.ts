import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Random, URL-safe ids with a type prefix (org_…, usr_…, ws_…): 80 bits, never guessable. */
export function newId(prefix: 'org' | 'usr' | 'ws' | 'sg' | 'tok' | 'vlt' | 'sec' | 'cp' | 'sp' | 'ci'): string {
  const bytes = randomBytes(16);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return `${prefix}_${id}`;
}

export const nowIso = (): string => new Date().toISOString();
