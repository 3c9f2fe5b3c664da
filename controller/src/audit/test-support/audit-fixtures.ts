import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { type AuditExportFilter, type AuditExportFormat, writeAuditExport } from '../audit-export.js';
import { type AuditRecord, computeLeafHash, GENESIS_PREV_HASH, type UnhashedAuditRecord } from '../audit-record.js';
import { formatCheckpointBody, signCheckpoint } from '../checkpoint.js';
import { TAR_END, tarHeader, tarPadding } from '../export-tar.js';
import { MerkleFrontier } from '../merkle.js';

/** A real audit log in memory, hash chain and signed checkpoints included, as the store would keep it. */
export interface TestLog {
  origin: string;
  keyName: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  records: AuditRecord[];
  leafHashes: Buffer;
  checkpoints: string[];
  sign(body: string): string;
}

export const TEST_ORIGIN = 'sovereign.test/audit';
export const TEST_ORGS = ['org_acme', 'org_globex', 'org_initech'] as const;

/** Record `seq` of the test log: a mix of actors, orgs, outcomes and hostile strings. */
export function testRecordFields(seq: number): Omit<UnhashedAuditRecord, 'prevHash'> {
  const orgId = TEST_ORGS[seq % TEST_ORGS.length] as string;
  return {
    seq,
    time: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(),
    actorType: seq % 7 === 0 ? 'token' : 'user',
    actorId: `usr_${seq % 5}`,
    orgId,
    workspaceId: seq % 2 === 0 ? `ws_${seq % 4}` : null,
    action: seq % 10 === 0 ? 'auth.login' : 'instance.create',
    target: `orgs/${orgId}/instances/i${seq}`,
    outcome: seq % 13 === 0 ? 'denied' : seq % 11 === 0 ? 'failure' : 'success',
    reason: seq % 13 === 0 ? 'forbidden' : null,
    sourceIp: `10.0.${seq % 256}.1`,
    userAgent: seq % 17 === 0 ? 'evil\r\nCEF:0|x|y|z|1|a|a|10|act=forged "quoted" ü' : 'sovereign-cli/0.1.0',
    requestId: `req_${seq}`,
    paramsDigest: null,
    details: seq % 3 === 0 ? `{"gpus":${seq % 8}}` : '{}',
  };
}

export function hashRecord(unhashed: UnhashedAuditRecord): AuditRecord {
  return { ...unhashed, leafHash: computeLeafHash(unhashed) };
}

export function buildTestLog(size = 200, checkpointEvery = 50): TestLog {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyName = TEST_ORIGIN;
  const sign = (body: string) => signCheckpoint(body, privateKey, keyName);
  const frontier = new MerkleFrontier();
  const records: AuditRecord[] = [];
  const checkpoints: string[] = [];
  let prevHash = GENESIS_PREV_HASH;
  for (let seq = 1; seq <= size; seq++) {
    const record = hashRecord({ ...testRecordFields(seq), prevHash });
    records.push(record);
    prevHash = record.leafHash;
    frontier.append(Buffer.from(record.leafHash, 'hex'));
    if (seq % checkpointEvery === 0) {
      const time = new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString();
      const body = formatCheckpointBody({
        origin: TEST_ORIGIN,
        size: seq,
        rootHash: frontier.root(),
        extensions: [`time ${time}`],
      });
      checkpoints.push(sign(body));
    }
  }
  return {
    origin: TEST_ORIGIN,
    keyName,
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    records,
    leafHashes: Buffer.concat(records.map((r) => Buffer.from(r.leafHash, 'hex'))),
    checkpoints,
    sign,
  };
}

export async function exportTestLog(
  log: TestLog,
  dir: string,
  name: string,
  options: { filter?: AuditExportFilter | null; format?: AuditExportFormat } = {},
): Promise<string> {
  const filter = options.filter ?? null;
  const records = filter?.orgId === undefined ? log.records : log.records.filter((r) => r.orgId === filter.orgId);
  const out = join(dir, name);
  await writeAuditExport({
    out,
    origin: log.origin,
    keyName: log.keyName,
    records,
    filter,
    treeSize: log.records.length,
    leafHashes: log.leafHashes,
    checkpoints: log.checkpoints,
    sign: log.sign,
    publicKeyPem: log.publicKeyPem,
    format: options.format ?? 'jsonl',
    now: () => new Date('2025-02-01T00:00:00.000Z'),
  });
  return out;
}

// A small synchronous tar reader and writer, for taking exports apart and putting altered ones together.

export interface TestTarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'hardlink';
  linkName?: string;
  data: Buffer;
}

const TYPES: Record<string, TestTarEntry['type']> = {
  '0': 'file',
  '\0': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '5': 'directory',
};

export function readTestTar(tar: Buffer): TestTarEntry[] {
  const entries: TestTarEntry[] = [];
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (offset: number, width: number) =>
      header.toString('utf8', offset, offset + width).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim(), 8);
    const type = TYPES[String.fromCharCode(header[156] as number)];
    entries.push({
      name: field(0, 100),
      type,
      linkName: field(157, 100),
      data: Buffer.from(tar.subarray(at + 512, at + 512 + size)),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

export function writeTestTar(entries: TestTarEntry[]): Buffer {
  const mtime = new Date('2025-02-01T00:00:00.000Z');
  const parts = entries.flatMap((e) => [
    tarHeader({ name: e.name, size: e.data.length, mtime, type: e.type ?? 'file', linkName: e.linkName }),
    e.data,
    tarPadding(e.data.length),
  ]);
  return Buffer.concat([...parts, TAR_END]);
}

/** The lines of a `\n`-terminated text entry, and back. */
export const linesOf = (data: Buffer): string[] => data.toString('utf8').split('\n').slice(0, -1);
export const joinLines = (lines: string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''));

/** The elements of checkpoints.json / proofs.json (one per line), and back. */
export function lineArrayOf(data: Buffer): string[] {
  const lines = linesOf(data);
  return lines.slice(1, -1).map((line) => (line.endsWith(',') ? line.slice(0, -1) : line));
}

export function joinLineArray(elements: string[]): Buffer {
  return joinLines(['[', ...elements.map((e, i) => (i < elements.length - 1 ? `${e},` : e)), ']']);
}
