import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  formatCheckpointBody,
  keyHint,
  parseCheckpoint,
  signCheckpoint,
  signerNames,
  verifyCheckpoint,
} from './checkpoint.js';

const ORIGIN = 'sovereign.example/audit';
const KEY_NAME = 'sovereign.example/audit';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const ROOT = createHash('sha256').update('root').digest();

const body = (extensions?: string[]) => formatCheckpointBody({ origin: ORIGIN, size: 42, rootHash: ROOT, extensions });
const signed = (text = body(['time 2025-01-01T00:00:00.000Z'])) => signCheckpoint(text, privateKey, KEY_NAME);

function expectError(run: () => unknown, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  expect((caught as CheckpointError).code).toBe(code);
  expect((caught as CheckpointError).message).toMatch(message);
}

/** The signature line's base64 decoded, changed and put back. */
function withSignature(text: string, change: (raw: Buffer) => Buffer): string {
  const match = /^(— \S+ )(\S+)$/m.exec(text);
  if (!match) throw new Error('no signature line');
  const raw = change(Buffer.from(match[2] as string, 'base64'));
  return text.replace(match[0], `${match[1]}${raw.toString('base64')}`);
}

describe('checkpoint format', () => {
  it('writes the C2SP body and a note signature line with the note key hint', () => {
    const text = signed();
    const lines = text.split('\n');
    expect(lines.slice(0, 5)).toEqual([ORIGIN, '42', ROOT.toString('base64'), 'time 2025-01-01T00:00:00.000Z', '']);
    expect(lines[5]).toMatch(/^— sovereign\.example\/audit [A-Za-z0-9+/]{91}=$/);
    expect(lines[6]).toBe('');
    const raw = Buffer.from((lines[5] as string).split(' ')[2] as string, 'base64');
    expect(raw).toHaveLength(68);
    // golang.org/x/mod/sumdb/note: SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4]
    const jwk = publicKey.export({ format: 'jwk' });
    const expectedHint = createHash('sha256')
      .update(`${KEY_NAME}\n`)
      .update(Buffer.of(1))
      .update(Buffer.from(jwk.x as string, 'base64url'))
      .digest()
      .subarray(0, 4);
    expect(raw.subarray(0, 4)).toEqual(expectedHint);
    expect(raw.readUInt32BE(0)).toBe(keyHint(KEY_NAME, publicKey));
    expect(verify(null, Buffer.from(body(['time 2025-01-01T00:00:00.000Z'])), publicKey, raw.subarray(4))).toBe(true);
  });

  it('parses and verifies what it signs', () => {
    const text = signed();
    const fields = verifyCheckpoint(text, publicKey, KEY_NAME, { origin: ORIGIN });
    expect(fields).toEqual({ origin: ORIGIN, size: 42, rootHash: ROOT, extensions: ['time 2025-01-01T00:00:00.000Z'] });
    expect(parseCheckpoint(text).signatures.map((s) => s.keyName)).toEqual([KEY_NAME]);
    expect(signerNames(parseCheckpoint(text), publicKey)).toEqual([KEY_NAME]);
    expect(signerNames(parseCheckpoint(text), other.publicKey)).toEqual([]);
    expect(verifyCheckpoint(signCheckpoint(body(), privateKey, KEY_NAME), publicKey, KEY_NAME).extensions).toEqual([]);
  });

  it('ignores signatures by other keys, such as a witness cosignature', () => {
    const text = signed();
    const cosigned = signCheckpoint(parseCheckpoint(text).body, other.privateKey, 'witness.example');
    const both = text + cosigned.slice(cosigned.lastIndexOf('\n\n') + 2);
    expect(parseCheckpoint(both).signatures).toHaveLength(2);
    expect(verifyCheckpoint(both, publicKey, KEY_NAME).size).toBe(42);
    expect(verifyCheckpoint(both, other.publicKey, 'witness.example').size).toBe(42);
  });

  it('refuses to format what it would refuse to parse', () => {
    const make = (fields: Partial<Parameters<typeof formatCheckpointBody>[0]>) => () =>
      formatCheckpointBody({ origin: ORIGIN, size: 1, rootHash: ROOT, ...fields });
    expectError(make({ origin: '' }), 'malformed_checkpoint', /origin ""/);
    expectError(make({ origin: 'a\nb' }), 'malformed_checkpoint', /origin/);
    expectError(make({ size: -1 }), 'malformed_checkpoint', /tree size -1/);
    expectError(make({ size: 1.5 }), 'malformed_checkpoint', /tree size 1.5/);
    expectError(make({ rootHash: Buffer.alloc(31) }), 'malformed_checkpoint', /31 bytes/);
    for (const bad of ['', ' lead', 'trail ', 'two  spaces', 'new\nline', 'tab\there', 'café', 'nul\0']) {
      expectError(make({ extensions: ['ok line', bad] }), 'malformed_checkpoint', /extension line 2/);
    }
    expectError(() => signCheckpoint(body(), privateKey, 'has space'), 'malformed_checkpoint', /key name/);
    expectError(() => signCheckpoint(body(), privateKey, 'plus+sign'), 'malformed_checkpoint', /key name/);
  });
});

describe('checkpoint verification refuses', () => {
  it('a note with no signature by the key: another key, another name', () => {
    expectError(() => verifyCheckpoint(signed(), other.publicKey, KEY_NAME), 'unknown_key', /no signature by key/);
    expectError(() => verifyCheckpoint(signed(), publicKey, 'other-name'), 'unknown_key', /hint [0-9a-f]{8}/);
  });

  it('every flipped bit of the signature, and a changed key hint', () => {
    const text = signed();
    for (let bit = 32; bit < 68 * 8; bit += 13) {
      const flipped = withSignature(text, (raw) => {
        const copy = Buffer.from(raw);
        copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
        return copy;
      });
      expectError(() => verifyCheckpoint(flipped, publicKey, KEY_NAME), 'bad_signature', /does not verify/);
    }
    const hintChanged = withSignature(text, (raw) =>
      Buffer.concat([Buffer.of((raw[0] as number) ^ 1), raw.subarray(1)]),
    );
    expectError(() => verifyCheckpoint(hintChanged, publicKey, KEY_NAME), 'unknown_key', /no signature/);
  });

  it('a signature with S ≥ L (the malleable twin of a valid one): OpenSSL 3 checks S < L', () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const text = signed();
    const message = Buffer.from(parseCheckpoint(text).body);
    const twin = withSignature(text, (raw) => {
      const signature = raw.subarray(4);
      const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + L;
      const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
      return Buffer.concat([raw.subarray(0, 4), signature.subarray(0, 32), sBytes]);
    });
    const twinSignature = parseCheckpoint(twin).signatures[0]?.signature as Buffer;
    expect(twinSignature).toHaveLength(64);
    // Same R, S + L: mathematically the same point equation; only the S < L check refuses it.
    expect(verify(null, message, publicKey, twinSignature)).toBe(false);
    expect(verify(null, message, publicKey, sign(null, message, privateKey))).toBe(true);
    expectError(() => verifyCheckpoint(twin, publicKey, KEY_NAME), 'bad_signature', /does not verify/);
  });

  it('a changed origin, size, root or extension line (the signature covers them all)', () => {
    const text = signed();
    const edits: Array<[string, string]> = [
      [ORIGIN, 'evil.example/audit'],
      ['\n42\n', '\n43\n'],
      [ROOT.toString('base64'), Buffer.alloc(32).toString('base64')],
      ['time 2025-01-01', 'time 2026-01-01'],
    ];
    for (const [from, to] of edits) {
      const edited = text.replace(from, to);
      expect(edited).not.toBe(text);
      expectError(() => verifyCheckpoint(edited, publicKey, KEY_NAME), 'bad_signature', /does not verify/);
    }
  });

  it('an origin other than the expected one, even when properly signed', () => {
    const elsewhere = signCheckpoint(
      formatCheckpointBody({ origin: 'other/log', size: 1, rootHash: ROOT }),
      privateKey,
      KEY_NAME,
    );
    expectError(
      () => verifyCheckpoint(elsewhere, publicKey, KEY_NAME, { origin: ORIGIN }),
      'wrong_origin',
      /origin "other\/log", expected "sovereign.example\/audit"/,
    );
  });

  it('malformed notes, each with a message naming the problem', () => {
    const text = signed();
    const sigLine = text.slice(text.lastIndexOf('\n\n') + 2);
    const reSign = (newBody: string) => `${newBody}\n${sigLine}`;
    const cases: Array<[string, RegExp]> = [
      [text.replace('\n42\n', '\n042\n'), /tree size "042"/],
      [text.replace('\n42\n', '\n+42\n'), /tree size "\+42"/],
      [text.replace('\n42\n', '\n 42\n'), /tree size " 42"/],
      [text.replace('\n42\n', '\n9007199254740993\n'), /tree size "9007199254740993"/],
      [
        text.replace(ROOT.toString('base64'), ROOT.toString('base64').replace('=', '')),
        /root hash .* not canonical base64/,
      ],
      [text.replace(ROOT.toString('base64'), ROOT.toString('base64url')), /root hash/],
      [text.replace(ROOT.toString('base64'), ROOT.subarray(0, 30).toString('base64')), /root hash of 30 bytes/],
      [text.replace('time 2025', 'time  2025'), /extension line 1/],
      [text.replace('time 2025-01-01T00:00:00.000Z\n', 'time 2025-01-01T00:00:00.000Z\r\n'), /character U\+000d/],
      [text.replace('time', 'tïme'), /character U\+00ef/],
      [reSign(`${ORIGIN}\n42\n`), /2 lines/],
      [text.replace('\n\n', '\n'), /no blank line/],
      [text.slice(0, -1), /signature block/],
      [text.replace('— ', '-- '), /does not start with '— '/],
      [text.replace(`— ${KEY_NAME} `, `— ${KEY_NAME}`), /want '— <key name> <base64>'|not canonical/],
      [`${text}— ${KEY_NAME} AAAA\n`, /3 bytes, too short/],
      [`garbage\n${text}`, /tree size|root hash/],
      ['x'.repeat(70_000), /more than 65536 bytes/],
    ];
    for (const [bad, message] of cases) {
      expectError(() => verifyCheckpoint(bad, publicKey, KEY_NAME), 'malformed_checkpoint', message);
    }
  });
});
