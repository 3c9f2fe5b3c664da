import { BlockList, isIP } from 'node:net';

/**
 * Validators for the names a certificate may carry, and for the name constraints
 * the intermediate CA is bound by. Pure functions: the CLI and the library both
 * call them before anything is signed.
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_DNS_NAME_LENGTH = 253;

/** A lower-case RFC 1123 host name; no wildcards, no trailing dot, no IP literals. */
export function isValidDnsName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_DNS_NAME_LENGTH) return false;
  if (name !== name.toLowerCase()) return false;
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  // An all-numeric last label would make the name indistinguishable from an IPv4 literal.
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/** True when `name` is `domain` itself or lies beneath it (the RFC 5280 dNSName subtree rule). */
export function isWithinDomain(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

export type IpFamily = 'ipv4' | 'ipv6';

export function ipFamily(address: string): IpFamily | undefined {
  const version = isIP(address);
  if (version === 4) return 'ipv4';
  if (version === 6) return 'ipv6';
  return undefined;
}

export interface Cidr {
  /** the network address (host bits zero); IPv6 is written uncompressed */
  network: string;
  prefix: number;
  family: IpFamily;
}

/** Parses `a.b.c.d/n` or `x::y/n`. Host bits must be zero, so a typo is not silently widened. */
export function parseCidr(text: string): Cidr {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) throw new RangeError(`not a CIDR range (want ADDRESS/PREFIX): ${JSON.stringify(text)}`);
  const [, address = '', prefixText = ''] = match;
  const family = ipFamily(address);
  if (!family) throw new RangeError(`not an IP address in CIDR range ${JSON.stringify(text)}`);
  const prefix = Number(prefixText);
  const bits = family === 'ipv4' ? 32 : 128;
  if (prefix > bits) throw new RangeError(`prefix /${prefix} is too long for ${family} in ${text}`);
  const bytes = ipToBytes(address);
  if (!bytes.every((byte, index) => (byte & ~maskByte(prefix, index)) === 0)) {
    throw new RangeError(`CIDR range ${text} has host bits set`);
  }
  return { network: bytesToIp(bytes), prefix, family };
}

function maskByte(prefix: number, index: number): number {
  const bitsInByte = Math.min(8, Math.max(0, prefix - index * 8));
  return (0xff << (8 - bitsInByte)) & 0xff;
}

export function ipToBytes(address: string): Buffer {
  const family = ipFamily(address);
  if (family === 'ipv4') return Buffer.from(address.split('.').map(Number));
  if (family === 'ipv6') {
    const [head = '', tail] = address.split('::');
    const group = (part: string): string[] => (part === '' ? [] : part.split(':'));
    const expandEmbeddedIpv4 = (groups: string[]): string[] =>
      groups.flatMap((g) => {
        if (!g.includes('.')) return [g];
        const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
        return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
      });
    const left = expandEmbeddedIpv4(group(head));
    const right = tail === undefined ? [] : expandEmbeddedIpv4(group(tail));
    const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
    const groups = [...left, ...zeros, ...right];
    return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  }
  throw new RangeError(`not an IP address: ${JSON.stringify(address)}`);
}

function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/**
 * True when `address` lies in one of `ranges` of its own family. X.509 compares an
 * IPv4 name (4 bytes) only with IPv4 constraints and IPv6 (16) only with IPv6, while
 * BlockList would equate `::ffff:10.0.0.1` with `10.0.0.1`: only same-family ranges go in.
 */
export function isIpWithinRanges(address: string, ranges: readonly Cidr[]): boolean {
  const family = ipFamily(address);
  if (!family) return false;
  const list = new BlockList();
  for (const range of ranges.filter((r) => r.family === family))
    list.addSubnet(range.network, range.prefix, range.family);
  return list.check(address, family);
}

/**
 * Identities carried in a client certificate's CN, for example `component:controller`
 * or `user:alice@acme`. The colon keeps OpenSSL from mistaking the CN for a host name
 * when it enforces name constraints.
 */
const CLIENT_IDENTITY = /^(component|user|agent|service):[A-Za-z0-9][A-Za-z0-9@._+-]{0,199}$/;

export function isValidClientIdentity(name: string): boolean {
  return CLIENT_IDENTITY.test(name);
}
