import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCef, toJsonLine, toOcsf, toOcsfLine } from './audit-formats.js';
import {
  AUDIT_ACTOR_TYPES,
  AUDIT_OUTCOMES,
  type AuditRecord,
  computeLeafHash,
  exportLine,
  GENESIS_PREV_HASH,
} from './audit-record.js';

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  const unhashed = {
    seq: 7,
    time: '2025-03-04T05:06:07.089Z',
    actorType: 'user' as const,
    actorId: 'usr_alice',
    orgId: 'org_acme',
    workspaceId: 'ws_ml',
    action: 'instance.create',
    target: 'orgs/org_acme/workspaces/ws_ml/instances/i1',
    outcome: 'success' as const,
    reason: null,
    sourceIp: '10.0.0.5',
    userAgent: 'sovereign-cli/0.1.0',
    requestId: 'req_1',
    paramsDigest: null,
    details: '{}',
    prevHash: GENESIS_PREV_HASH,
    ...overrides,
  };
  return { ...unhashed, leafHash: overrides.leafHash ?? computeLeafHash(unhashed) };
}

const hostile = fc.string({
  unit: fc.constantFrom('a', ' ', '\\', '|', '=', '\r', '\n', '\u2028', '\0', 'é', '"', 'z'),
});
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });

const anyRecord: fc.Arbitrary<AuditRecord> = fc.record({
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  actorType: fc.constantFrom(...AUDIT_ACTOR_TYPES),
  actorId: maybe(fc.oneof(hostile, fc.string({ unit: 'grapheme' }))),
  orgId: maybe(hostile),
  workspaceId: maybe(hostile),
  action: fc.oneof(hostile, fc.constantFrom('auth.login', 'auth.logout', 'org.create', 'vault.unseal')),
  target: maybe(hostile),
  outcome: fc.constantFrom(...AUDIT_OUTCOMES),
  reason: maybe(hostile),
  sourceIp: maybe(hostile),
  userAgent: maybe(fc.string({ unit: 'binary' })),
  requestId: maybe(hostile),
  paramsDigest: maybe(fc.stringMatching(/^[0-9a-f]{64}$/)),
  details: fc.oneof(fc.constant('{}'), hostile),
  prevHash: fc.stringMatching(/^[0-9a-f]{64}$/),
  leafHash: fc.stringMatching(/^[0-9a-f]{64}$/),
});

const CEF_UNESCAPES: Record<string, string> = { n: '\n', r: '\r' };
const unescapeCef = (text: string) => text.replace(/\\(.)/g, (_, c: string) => CEF_UNESCAPES[c] ?? c);

/** A CEF reader as a SIEM would write one: seven header fields split on unescaped pipes, then ` key=` pairs. */
function parseCef(line: string): { header: string[]; extension: Record<string, string> } {
  const headerPattern = /^((?:[^\\|]|\\.)*)\|/;
  const header: string[] = [];
  let rest = line;
  while (header.length < 7) {
    const match = headerPattern.exec(rest);
    if (!match) throw new Error(`header field ${header.length + 1} does not end in '|': ${line}`);
    header.push(unescapeCef(match[1] as string));
    rest = rest.slice(match[0].length);
  }
  const extension: Record<string, string> = {};
  // A key follows an unescaped space and ends at an '=': values escape every '=' they hold.
  const pairPattern = /(?:^| )([A-Za-z0-9]+)=((?:[^\\=]|\\.)*?)(?= [A-Za-z0-9]+=|$)/g;
  let consumed = 0;
  for (const match of rest.matchAll(pairPattern)) {
    expect(match.index).toBe(consumed);
    consumed = match.index + match[0].length;
    const key = match[1] as string;
    expect(extension).not.toHaveProperty(key);
    extension[key] = unescapeCef(match[2] as string);
  }
  expect(consumed).toBe(rest.length);
  return { header, extension };
}

// eslint-disable-next-line no-control-regex -- the characters toCef must replace
const printable = (value: string) => value.replace(/[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]/g, '\ufffd');

describe('toJsonLine', () => {
  it('is exportLine, for any record', () => {
    fc.assert(
      fc.property(anyRecord, (r) => {
        expect(toJsonLine(r)).toBe(exportLine(r));
      }),
      { numRuns: 500 },
    );
  });
});

describe('toCef', () => {
  it('writes the header and the extension keys', () => {
    const r = record({ details: '{"gpus":8}' });
    const line = toCef(r, '1.2.3');
    expect(line).toBe(
      'CEF:0|Sovereign|Sovereign Controller|1.2.3|instance.create|instance.create|3|' +
        `rt=${Date.parse('2025-03-04T05:06:07.089Z')} act=instance.create outcome=success suser=usr_alice suid=usr_alice ` +
        'src=10.0.0.5 requestClientApplication=sovereign-cli/0.1.0 externalId=7 cs1=org_acme cs1Label=org ' +
        `cs2=ws_ml cs2Label=workspace cs3=${r.leafHash} ` +
        'cs3Label=leafHash cs4=user cs4Label=actorType cs5=orgs/org_acme/workspaces/ws_ml/instances/i1 cs5Label=target ' +
        'cs6=req_1 cs6Label=requestId msg={"gpus":8}',
    );
  });

  it('maps outcomes to severities 3, 5 and 6 and leaves null values out', () => {
    const severity = (outcome: AuditRecord['outcome']) => parseCef(toCef(record({ outcome }))).header[6];
    expect([severity('success'), severity('failure'), severity('denied')]).toEqual(['3', '5', '6']);
    const bare = parseCef(
      toCef(
        record({ actorId: null, orgId: null, workspaceId: null, sourceIp: null, userAgent: null, requestId: null }),
      ),
    );
    for (const key of ['suser', 'suid', 'src', 'requestClientApplication', 'cs1', 'cs1Label', 'cs2', 'cs6'])
      expect(bare.extension).not.toHaveProperty(key);
    const denied = parseCef(toCef(record({ outcome: 'denied', reason: 'forbidden' })));
    expect(denied.extension).toMatchObject({ outcome: 'denied', reason: 'forbidden' });
  });

  it('escapes so that a value cannot forge a line, a header field or a key', () => {
    const forged = record({
      action: 'x|CEF:0|Evil|Evil|1|a|a|10|\\',
      actorId: 'alice suser=root\r\nCEF:0|Evil|Evil|1|b|b|10|act=forged',
      userAgent: 'ua\\ cs1=org_victim',
      reason: 'a=b\\=c\\',
    });
    const line = toCef(forged, 'v|1\\');
    expect(line).not.toMatch(/[\r\n]/);
    const { header, extension } = parseCef(line);
    expect(header).toEqual(['CEF:0', 'Sovereign', 'Sovereign Controller', 'v|1\\', forged.action, forged.action, '3']);
    expect(extension.suser).toBe(forged.actorId);
    expect(extension.requestClientApplication).toBe('ua\\ cs1=org_victim');
    expect(extension.cs1).toBe('org_acme');
    expect(extension.reason).toBe('a=b\\=c\\');
    expect(extension.act).toBe(forged.action);
  });

  it('round-trips any value through a CEF reader, on one line', () => {
    fc.assert(
      fc.property(anyRecord, (r) => {
        const line = toCef(r, '0.1.0');
        expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
        const { header, extension } = parseCef(line);
        expect(header).toEqual([
          'CEF:0',
          'Sovereign',
          'Sovereign Controller',
          '0.1.0',
          ...Array(2).fill(printable(r.action)),
          header[6],
        ]);
        expect(extension.act).toBe(printable(r.action));
        expect(extension.externalId).toBe(String(r.seq));
        expect(extension.suser).toBe(r.actorId === null ? undefined : printable(r.actorId));
        expect(extension.requestClientApplication).toBe(r.userAgent === null ? undefined : printable(r.userAgent));
        expect(extension.cs2).toBe(r.workspaceId === null ? undefined : printable(r.workspaceId));
        expect(extension.cs3).toBe(r.leafHash);
      }),
      { numRuns: 500 },
    );
  });
});

describe('toOcsf', () => {
  it('API Activity (6003) for API actions', () => {
    const event = toOcsf(record({ outcome: 'denied', reason: 'forbidden', action: 'org.delete' }), '1.2.3');
    expect(event).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 4,
      type_uid: 600304,
      time: Date.parse('2025-03-04T05:06:07.089Z'),
      status_id: 2,
      status: 'Failure',
      status_code: 'forbidden',
      status_detail: 'denied',
      severity_id: 3,
      metadata: { version: '1.1.0', uid: 'req_1', sequence: 7, product: { version: '1.2.3' } },
      actor: { user: { uid: 'usr_alice', type: 'user', type_id: 1 } },
      src_endpoint: { ip: '10.0.0.5' },
      http_request: { user_agent: 'sovereign-cli/0.1.0' },
      api: { operation: 'org.delete' },
      resources: [{ uid: 'orgs/org_acme/workspaces/ws_ml/instances/i1' }],
      cloud: { org: { uid: 'org_acme' }, project_uid: 'ws_ml' },
    });
  });

  it('Authentication (3002) for auth.* actions', () => {
    const login = toOcsf(record({ action: 'auth.login' }));
    expect(login).toMatchObject({ class_uid: 3002, category_uid: 3, activity_id: 1, type_uid: 300201, status_id: 1 });
    expect(login.user).toEqual({ uid: 'usr_alice', type: 'user', type_id: 1 });
    expect(login).not.toHaveProperty('api');
    expect(toOcsf(record({ action: 'auth.logout' }))).toMatchObject({ activity_id: 2, type_uid: 300202 });
    expect(toOcsf(record({ action: 'auth.password.change' }))).toMatchObject({ activity_id: 99 });
    const anonymous = toOcsf(
      record({ action: 'auth.login', actorId: null, actorType: 'anonymous', outcome: 'failure' }),
    );
    expect(anonymous).toMatchObject({ status_id: 2, status_detail: 'failure' });
    expect(anonymous).not.toHaveProperty('user');
  });

  it('one line per event, whatever the values hold', () => {
    fc.assert(
      fc.property(anyRecord, (r) => {
        const line = toOcsfLine(r);
        expect(line).not.toMatch(/[\r\n]/);
        const parsed = JSON.parse(line) as { metadata: { sequence: number }; unmapped: { leafHash: string } };
        expect(parsed.metadata.sequence).toBe(r.seq);
        expect(parsed.unmapped.leafHash).toBe(r.leafHash);
      }),
      { numRuns: 300 },
    );
  });
});
