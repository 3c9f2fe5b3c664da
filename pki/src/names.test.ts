import { isIP } from 'node:net';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Cidr, IpFamily } from './names.js';
import { ipFamily, ipToBytes, isIpWithinRanges, isValidClientIdentity } from './names.js';
import { isValidDnsName, isWithinDomain, parseCidr } from './names.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
const lastLabel = label.filter((l) => !/^[0-9]+$/.test(l));
const dnsName = fc
  .tuple(fc.array(label, { maxLength: 4 }), lastLabel)
  .map(([head, last]) => [...head, last].join('.'))
  .filter((name) => name.length <= 253);
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** Inserts `piece` at the position `at` (0..1) of the way through `text`. */
const insertAt = (text: string, piece: string, at: number) => {
  const i = Math.floor(at * (text.length + 1));
  return text.slice(0, i) + piece + text.slice(i);
};
const mutate = (pieces: fc.Arbitrary<string>, edit: (name: string, piece: string, at: number) => string) =>
  fc.tuple(dnsName, pieces, unit).map(([name, piece, at]) => edit(name, piece, at));

describe('isValidDnsName', () => {
  test.prop([dnsName])('accepts names of 1..5 well-formed labels', (name) => {
    expect(isValidDnsName(name)).toBe(true);
  });

  const badChar = fc.constantFrom('_', '*', ' ', '/', 'é', '\u00df', '\u4e2d', '\n', '@');
  const label63 = fc.stringMatching(/^[a-z]{63}$/);
  const label64 = fc.stringMatching(/^[a-z][a-z0-9-]{62}[a-z]$/);
  const broken: [string, fc.Arbitrary<string>][] = [
    ['an upper-case letter', mutate(fc.stringMatching(/^[A-Z]$/), insertAt)],
    ['an empty label', mutate(fc.constantFrom('.%', '%.', '%..x', 'x..%'), (n, p) => p.replace('%', n))],
    ['a 64-char label', mutate(label64, (n, p, at) => (at < 0.5 ? `${p}.${n}` : `${n}.${p}`))],
    ['a label starting or ending with "-"', mutate(fc.constantFrom('-.', '.-'), (n, p) => p.replace('.', n))],
    ['a character outside [a-z0-9.-]', mutate(badChar, insertAt)],
    ['an all-numeric last label', mutate(fc.stringMatching(/^[0-9]{1,10}$/), (n, digits) => `${n}.${digits}`)],
    ['more than 253 characters', fc.array(label63, { minLength: 4, maxLength: 6 }).map((l) => l.join('.'))],
  ];
  for (const [why, names] of broken) {
    test.prop([names])(`rejects a name with ${why}`, (name) => {
      expect(isValidDnsName(name)).toBe(false);
    });
  }

  it('accepts exactly 253 characters and rejects IP literals, wildcards and the empty name', () => {
    const base = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63)].join('.');
    expect([`${base}.${'d'.repeat(61)}`, `${base}.${'d'.repeat(62)}`].map(isValidDnsName)).toEqual([true, false]);
    const bad = ['10.0.0.1', '*.example.internal', '', 'example.internal.', 'Host.internal'];
    expect(bad.filter(isValidDnsName)).toEqual([]);
  });
});

describe('isWithinDomain', () => {
  test.prop([fc.array(label, { maxLength: 3 }), dnsName])('contains itself and its subdomains', (sub, domain) => {
    expect(isWithinDomain([...sub, domain].join('.'), domain)).toBe(true);
  });

  test.prop([label, dnsName])('a suffix match without a dot boundary is not within', (prefix, domain) => {
    expect(isWithinDomain(`${prefix}${domain}`, domain)).toBe(false);
  });

  test.prop([dnsName, dnsName])('is true iff name === domain or name ends with "." + domain', (name, domain) => {
    expect(isWithinDomain(name, domain)).toBe(name === domain || name.endsWith(`.${domain}`));
  });

  it('handles the look-alike cases', () => {
    expect(isWithinDomain('evilexample.internal', 'example.internal')).toBe(false);
    expect(isWithinDomain('a.b.example.internal', 'example.internal')).toBe(true);
    expect(isWithinDomain('internal', 'example.internal')).toBe(false);
  });
});

/** Addresses as BigInt; IPv6 is generated as 8 random 16-bit groups and written uncompressed. */
const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
const join = (parts: number[], width: number) => parts.reduce((acc, p) => (acc << BigInt(width)) | BigInt(p), 0n);
const format4 = (x: bigint) => [24n, 16n, 8n, 0n].map((s) => Number((x >> s) & 0xffn)).join('.');
const format6 = (x: bigint) =>
  [...Array(8).keys()].map((i) => ((x >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
const maskTo = (x: bigint, bits: number, prefix: number) => (x >> BigInt(bits - prefix)) << BigInt(bits - prefix);
const familyOf = (family: IpFamily, bits: number, addr: fc.Arbitrary<bigint>, format: (x: bigint) => string) => {
  const range = fc.tuple(addr, fc.nat(bits)).map(([a, prefix]) => ({ net: maskTo(a, bits, prefix), prefix }));
  const ranges = (min: number) =>
    fc.array(range, { minLength: min, maxLength: 4 }).map((rs) => ({
      rs,
      cidrs: rs.map((r): Cidr => ({ network: format(r.net), prefix: r.prefix, family })),
    }));
  return { bits, addr, format, ranges };
};
const [v4Int, v6Int] = [v4.map((p) => join(p, 8)), v6.map((p) => join(p, 16))];
const families = { ipv4: familyOf('ipv4', 32, v4Int, format4), ipv6: familyOf('ipv6', 128, v6Int, format6) };

describe.each(['ipv4', 'ipv6'] as const)('parseCidr (%s)', (family) => {
  const { bits, addr, format } = families[family];

  test.prop([addr, fc.nat(bits)])('a masked network/prefix parses back to itself', (a, prefix) => {
    const network = format(maskTo(a, bits, prefix));
    expect(parseCidr(`${network}/${prefix}`)).toEqual({ network, prefix, family });
  });

  test.prop([addr, fc.nat(bits - 1), unit])('throws RangeError when host bits are set', (a, prefix, at) => {
    const hostBit = 1n << BigInt(Math.floor(at * (bits - prefix)));
    expect(() => parseCidr(`${format(maskTo(a, bits, prefix) | hostBit)}/${prefix}`)).toThrow(RangeError);
  });

  test.prop([addr, fc.integer({ min: bits + 1, max: 999 })])(`throws when the prefix exceeds ${bits}`, (a, prefix) => {
    expect(() => parseCidr(`${format(a)}/${prefix}`)).toThrow(RangeError);
  });
});

describe('parseCidr (garbage)', () => {
  test.prop([fc.string().filter((s) => isIP(s.split('/')[0] ?? '') === 0)])('throws for non-IP text', (s) => {
    expect(() => parseCidr(s)).toThrow(RangeError);
  });

  const bad = ['10.0.0.0', '10.0.0.0/', '/8', '10.0.0.0/8/8', '10.0.0.256/32', ' 10.0.0.0/8', '10.0.0.0/ 8', '::/1000'];
  it.each(bad)('throws for %j', (text) => {
    expect(() => parseCidr(text)).toThrow(RangeError);
  });
});

describe('isIpWithinRanges', () => {
  describe.each(['ipv4', 'ipv6'] as const)('%s', (family) => {
    const { bits, addr, format, ranges } = families[family];
    // When `near` is set the address is moved into the first range, so that matches are common.
    test.prop([addr, ranges(0), fc.boolean()])('agrees with a BigInt reference', (a, { rs, cidrs }, near) => {
      const first = rs[0];
      const address = near && first ? first.net | (a & ((1n << BigInt(bits - first.prefix)) - 1n)) : a;
      const expected = rs.some((r) => address >> BigInt(bits - r.prefix) === r.net >> BigInt(bits - r.prefix));
      expect(isIpWithinRanges(format(address), cidrs)).toBe(expected);
    });
  });

  // Includes IPv4-mapped addresses (::ffff:a.b.c.d), which are IPv6 addresses too.
  const v6Address = fc.oneof(
    v6Int.map(format6),
    v4.map((p) => `::ffff:${p.join('.')}`),
  );
  test.prop([v6Address, families.ipv4.ranges(1)])('an IPv6 address is never in IPv4-only ranges', (a, { cidrs }) => {
    expect(isIpWithinRanges(a, cidrs)).toBe(false);
  });

  test.prop([v4Int.map(format4), families.ipv6.ranges(1)])('an IPv4 address is never in IPv6-only ranges', (a, r) => {
    expect(isIpWithinRanges(a, r.cidrs)).toBe(false);
  });

  it.each([
    ['::ffff:10.0.0.1', '10.0.0.0/8'],
    ['10.0.0.1', '::/0'],
    ['10.0.0.1', '::ffff:0:0/96'],
  ])('keeps %s out of %s (other family)', (address, range) => {
    expect(isIpWithinRanges(address, [parseCidr(range)])).toBe(false);
  });

  test.prop([fc.string().filter((s) => isIP(s) === 0)])('a non-IP string is never within', (s) => {
    expect(isIpWithinRanges(s, [parseCidr('0.0.0.0/0'), parseCidr('::/0')])).toBe(false);
  });
});

describe('ipToBytes and ipFamily', () => {
  it('gives 16 bytes for IPv6 forms and 4 for IPv4', () => {
    const zeros = (n: number) => Array<number>(n).fill(0);
    expect([...ipToBytes('::1')]).toEqual([...zeros(15), 1]);
    expect([...ipToBytes('2001:db8::')]).toEqual([0x20, 0x01, 0x0d, 0xb8, ...zeros(12)]);
    expect([...ipToBytes('::ffff:10.0.0.1')]).toEqual([...zeros(10), 0xff, 0xff, 10, 0, 0, 1]);
    expect([...ipToBytes('192.168.1.2')]).toEqual([192, 168, 1, 2]);
    expect(() => ipToBytes('example.internal')).toThrow(RangeError);
    expect(['10.0.0.1', '::1', 'example', ''].map(ipFamily)).toEqual(['ipv4', 'ipv6', undefined, undefined]);
  });

  test.prop([v6, fc.nat(7), fc.integer({ min: 1, max: 8 })])('"::" gives the full-form bytes', (g, lo, n) => {
    const hi = Math.min(8, lo + n);
    const hex = g.map((x) => x.toString(16));
    const zeroed = g.map((x, k) => (k >= lo && k < hi ? 0 : x));
    const text = `${hex.slice(0, lo).join(':')}::${hex.slice(hi).join(':')}`;
    expect([...ipToBytes(text)]).toEqual(zeroed.flatMap((x) => [x >> 8, x & 0xff]));
  });

  test.prop([v4])('IPv4 gives its 4 bytes', (bytes) => {
    expect([...ipToBytes(bytes.join('.'))]).toEqual(bytes);
  });
});

describe('isValidClientIdentity', () => {
  it('accepts the documented forms and rejects look-alikes', () => {
    const ok = ['component:controller', 'user:alice@acme', 'agent:node-7', 'service:x.y', `user:${'a'.repeat(200)}`];
    expect(ok.filter((id) => !isValidClientIdentity(id))).toEqual([]);
    const bad = ['controller', 'admin:alice', 'user:', 'user:alice bob', 'user:../x', `user:${'a'.repeat(201)}`];
    expect(bad.filter(isValidClientIdentity)).toEqual([]);
  });

  const kind = fc.constantFrom('component', 'user', 'agent', 'service');
  const identity = fc
    .tuple(kind, fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9@._+-]{0,199}$/))
    .map(([k, rest]) => `${k}:${rest}`);
  test.prop([identity])('accepts any well-formed identity', (id) => {
    expect(isValidClientIdentity(id)).toBe(true);
  });

  test.prop([identity, unit, fc.constantFrom('\n', '\r\n')])('rejects any string with a newline', (id, at, nl) => {
    expect(isValidClientIdentity(insertAt(id, nl, at))).toBe(false);
  });
});
