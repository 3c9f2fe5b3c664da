import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { collisionKey, entryNameProblem, MAX_ENTRY_NAME_BYTES } from './entry-names.js';

/** Letters, digits, - and _, plus a few NFC letters outside ASCII (two of them with case). */
const SAFE_CHARACTERS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_',
  'é',
  'Ü',
  'ß',
  'ñ',
  '日',
  'Ω',
];
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

const word = (maxLength: number) =>
  fc.array(fc.constantFrom(...SAFE_CHARACTERS), { minLength: 1, maxLength }).map((chars) => chars.join(''));

/** A path component that is fine on every file system: no dot or space at the end, no device name. */
const safeSegment = fc
  .tuple(word(12), fc.option(word(4), { nil: undefined }))
  .map(([stem, extension]) => (extension ? `${stem}.${extension}` : stem))
  .filter((segment) => !WINDOWS_DEVICE.test(segment));

/** A name a bundle may contain: a top-level directory and safe components, or a top-level file. */
const safeName = fc
  .oneof(
    fc
      .tuple(
        fc.constantFrom('images', 'charts', 'controller', 'ui'),
        fc.array(safeSegment, { minLength: 1, maxLength: 5 }),
      )
      .map(([top, rest]) => [top, ...rest].join('/')),
    fc.constantFrom('manifest.json', 'manifest.json.asc', 'sbom.spdx.json'),
  )
  // Room for the insertions below without passing the length limit.
  .filter((name) => Buffer.byteLength(name) <= MAX_ENTRY_NAME_BYTES - 16);

/** A safe name with at least two components, and a position in it. */
const nestedName = safeName.filter((name) => name.includes('/'));

const insertAt = (name: string, at: number, text: string) => {
  const chars = [...name];
  const index = at % (chars.length + 1);
  return [...chars.slice(0, index), text, ...chars.slice(index)].join('');
};
const segmentsOf = (name: string) => name.split('/');

describe('entryNameProblem', () => {
  test.prop([safeName])('accepts names built from safe components under an allowed top level', (name) => {
    expect(entryNameProblem(name)).toBeUndefined();
  });

  test.prop([nestedName, fc.nat()])('refuses a .. component anywhere', (name, at) => {
    const segments = segmentsOf(name);
    const index = at % (segments.length + 1);
    const bad = [...segments.slice(0, index), '..', ...segments.slice(index)].join('/');
    expect(entryNameProblem(bad)).toBe("'..' path component");
  });

  test.prop([nestedName, fc.nat()])('refuses a . component anywhere', (name, at) => {
    const segments = segmentsOf(name);
    const index = at % (segments.length + 1);
    const bad = [...segments.slice(0, index), '.', ...segments.slice(index)].join('/');
    expect(entryNameProblem(bad)).toBe("'.' path component");
  });

  test.prop([safeName])('refuses a leading /', (name) => {
    expect(entryNameProblem(`/${name}`)).toBe('absolute path');
  });

  test.prop([safeName, fc.nat()])('refuses a backslash anywhere', (name, at) => {
    expect(entryNameProblem(insertAt(name, at, '\\'))).toBe('contains a backslash');
  });

  test.prop([safeName, fc.nat()])('refuses NUL anywhere', (name, at) => {
    expect(entryNameProblem(insertAt(name, at, '\0'))).toBe('contains NUL');
  });

  const control = fc.oneof(fc.integer({ min: 1, max: 0x1f }), fc.constant(0x7f)).map((c) => String.fromCharCode(c));
  test.prop([safeName, fc.nat(), control])('refuses a control character anywhere', (name, at, character) => {
    const bad = insertAt(name, at, character);
    expect(entryNameProblem(bad)).toBe('contains a control or reserved character');
  });

  test.prop([safeName, fc.nat(), fc.constantFrom(...':*?"<>|')])(
    'refuses a reserved character anywhere',
    (name, at, character) => {
      expect(entryNameProblem(insertAt(name, at, character))).toBe('contains a control or reserved character');
    },
  );

  test.prop([nestedName, fc.nat()])('refuses an empty component (// or a trailing /)', (name, at) => {
    const slashes = [...name.matchAll(/\//g)].map((match) => match.index);
    const doubled = slashes[at % slashes.length] ?? 0;
    expect(entryNameProblem(`${name.slice(0, doubled)}/${name.slice(doubled)}`)).toBe(
      'empty path component (// or a trailing /)',
    );
    expect(entryNameProblem(`${name}/`)).toBe('empty path component (// or a trailing /)');
  });

  test.prop([safeName, fc.nat(), fc.constantFrom('.', ' ', '..', ' .', '. ')])(
    'refuses a component ending with a dot or a space',
    (name, at, ending) => {
      const segments = segmentsOf(name);
      const index = at % segments.length;
      const bad = segments.map((segment, i) => (i === index ? segment + ending : segment)).join('/');
      expect(entryNameProblem(bad)).toBe('path component ends with a dot or space');
    },
  );

  /** Letters whose NFC form is one code point and whose NFD form is two or more. */
  const composed = fc.constantFrom('é', 'Å', 'ñ', 'ü', 'Ω\u0301'.normalize('NFC'), 'ǘ', '가');
  test.prop([safeName, fc.nat(), composed])('refuses a name that is not NFC', (name, at, letter) => {
    const nfc = insertAt(name, at, letter);
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(entryNameProblem(nfd)).toBe('not in Unicode normalisation form C');
  });

  test.prop([safeName])('refuses a name longer than the limit', (name) => {
    const long = `${name}/${'x'.repeat(MAX_ENTRY_NAME_BYTES)}`.slice(0, MAX_ENTRY_NAME_BYTES + 1);
    expect(entryNameProblem(long)).toBe(`longer than ${MAX_ENTRY_NAME_BYTES} bytes`);
  });
});

describe('collisionKey', () => {
  /** The name with the case of each character flipped (or not) at random. */
  const recased = safeName.chain((name) =>
    fc
      .array(fc.boolean(), { minLength: [...name].length, maxLength: [...name].length })
      .map((flips) =>
        [...name].map((c, i) => (flips[i] ? (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) : c)).join(''),
      )
      .map((variant) => [name, variant] as const),
  );

  test.prop([recased])('equates names that differ only in case', ([name, variant]) => {
    expect(collisionKey(variant)).toBe(collisionKey(name));
  });

  test.prop([safeName, fc.constantFrom('NFC', 'NFD', 'NFKC', 'NFKD')])(
    'equates the Unicode normalisation forms of a name',
    (name, form) => {
      expect(collisionKey(name.normalize(form))).toBe(collisionKey(name));
    },
  );

  /** ASCII letters and digits have full-width compatibility twins (U+FF10 and on): NFKC folds them back. */
  const fullWidth = (c: string) => (/[0-9A-Za-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c);
  test.prop([safeName, fc.nat()])('equates compatibility variants (full-width letters and digits)', (name, at) => {
    const chars = [...name];
    const index = at % chars.length;
    const variant = chars.map((c, i) => (i === index ? fullWidth(c) : c)).join('');
    expect(collisionKey(variant)).toBe(collisionKey(name));
  });

  it('equates a ligature with its letters, and a superscript with its digit', () => {
    expect(collisionKey('controller/\ufb01le.js')).toBe(collisionKey('controller/file.js'));
    expect(collisionKey('charts/chart\u00b2.tgz')).toBe(collisionKey('charts/chart2.tgz'));
  });

  const asciiAlphanumeric = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
  test.prop([safeName, fc.nat(), fc.constantFrom(...asciiAlphanumeric)])(
    'distinguishes names that differ otherwise',
    (name, at, replacement) => {
      const chars = [...name];
      const positions = chars.flatMap((c, i) => (/[0-9A-Za-z]/.test(c) ? [i] : []));
      const index = positions[at % positions.length] ?? 0;
      fc.pre((chars[index] ?? '').toLowerCase() !== replacement);
      const other = chars.map((c, i) => (i === index ? replacement : c)).join('');
      expect(collisionKey(other)).not.toBe(collisionKey(name));
    },
  );

  test.prop([safeName, safeName])('gives distinct keys to distinct names unless they fold together', (a, b) => {
    const fold = (name: string) => name.normalize('NFKC').toLowerCase().replaceAll('ß', 'ss');
    fc.pre(fold(a) !== fold(b));
    expect(collisionKey(a)).not.toBe(collisionKey(b));
  });
});
