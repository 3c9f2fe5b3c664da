import { describe, expect, it } from 'vitest';
import { type AuditRecord, computeLeafHash, exportLine, GENESIS_PREV_HASH } from '../audit-record.js';
import { formatSyslogMessage, frameOctetCounting } from './syslog-message.js';

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  const unhashed = {
    seq: 7,
    time: '2025-03-01T12:34:56.789Z',
    actorType: 'user' as const,
    actorId: 'usr_1',
    orgId: 'org_a',
    workspaceId: null,
    action: 'org.create',
    target: 'orgs/org_a',
    outcome: 'success' as const,
    reason: null,
    sourceIp: '10.0.0.1',
    userAgent: null,
    requestId: 'req_1',
    paramsDigest: null,
    details: '{}',
    prevHash: GENESIS_PREV_HASH,
    ...overrides,
  };
  return { ...unhashed, leafHash: overrides.leafHash ?? computeLeafHash(unhashed) };
}

const OPTS = { hostname: 'ctl-1.example.internal', appName: 'sovereign', procId: '4242' };
const BOM = '\uFEFF';

/** The part between MSGID and the BOM; none of the tested inputs put a `] ` inside it. */
function structuredData(message: string): string {
  return message
    .slice(0, message.indexOf(BOM) - 1)
    .split(' ')
    .slice(6)
    .join(' ');
}

describe('formatSyslogMessage', () => {
  it('writes the RFC 5424 header, our structured data and the export line', () => {
    const r = record();
    expect(formatSyslogMessage(r, OPTS)).toBe(
      '<110>1 2025-03-01T12:34:56.789Z ctl-1.example.internal sovereign 4242 org.create ' +
        `[sovereign@32473 seq="7" leafHash="${r.leafHash}" outcome="success" org="org_a"] ${BOM}${exportLine(r)}`,
    );
  });

  it('uses facility 13 with severity 4 (warning) for denied and failed actions', () => {
    expect(formatSyslogMessage(record({ outcome: 'denied', reason: 'forbidden' }), OPTS)).toMatch(/^<108>1 /);
    expect(formatSyslogMessage(record({ outcome: 'failure', reason: 'conflict' }), OPTS)).toMatch(/^<108>1 /);
  });

  it('writes NILVALUE for a missing PROCID and leaves org out when the record has none', () => {
    const r = record({ orgId: null });
    const message = formatSyslogMessage(r, { hostname: 'h', appName: 'a' });
    expect(message).toBe(
      `<110>1 2025-03-01T12:34:56.789Z h a - org.create [sovereign@32473 seq="7" leafHash="${r.leafHash}" outcome="success"] ${BOM}${exportLine(r)}`,
    );
  });

  it('writes NILVALUE for a time that is not an RFC 5424 timestamp', () => {
    expect(formatSyslogMessage(record({ time: '2025-03-01 12:34:56' }), OPTS).split(' ')[1]).toBe('-');
  });

  it('escapes ", \\ and ] in SD-PARAM values so the structured data cannot be closed early', () => {
    const message = formatSyslogMessage(record({ orgId: 'x"] [evil@1 a="b\\' }), OPTS);
    expect(structuredData(message)).toMatch(/ org="x\\"\\\] \[evil@1 a=\\"b\\\\"\]$/);
  });

  it('writes control characters in SD-PARAM values as \\uXXXX text, so no CR/LF reaches the wire', () => {
    const message = formatSyslogMessage(record({ orgId: 'a\r\nb\u0000\u0085' }), OPTS);
    expect(structuredData(message)).toContain('org="a\\u000d\\u000ab\\u0000\\u0085"');
    expect(structuredData(message)).not.toMatch(/\p{Cc}/u);
    // JSON escapes C0 controls in the MSG; it leaves C1 (U+0085) as it is, which is no line break for syslog.
    expect(message).not.toMatch(/[\r\n]/);
    expect(message).not.toContain('\u0000');
  });

  it('reduces MSGID to 32 printable US-ASCII characters', () => {
    const fields = (action: string) => formatSyslogMessage(record({ action }), OPTS).split(' ');
    expect(fields('a'.repeat(40))[5]).toBe('a'.repeat(32));
    // A space or a line break would shift every later field for the receiver.
    expect(fields('auth.login [x@1 a="b"]\r\n<13>1 forged')[5]).toBe('auth.login_[x@1_a="b"]__<13>1_fo');
    expect(fields('vault.ünseal.🔑')[5]).toBe('vault._nseal._');
    expect(fields('')[5]).toBe('-');
  });

  it('sanitizes HOSTNAME, APP-NAME and PROCID to PRINTUSASCII within their RFC lengths', () => {
    const message = formatSyslogMessage(record(), {
      hostname: `hôst name\n${'h'.repeat(300)}`,
      appName: `app\u0000${'a'.repeat(60)}`,
      procId: 'p'.repeat(200),
    });
    const [, , hostname, appName, procId] = message.split(' ');
    expect(hostname).toBe(`h_st_name_${'h'.repeat(245)}`);
    expect(hostname).toHaveLength(255);
    expect(appName).toBe(`app_${'a'.repeat(44)}`);
    expect(procId).toBe('p'.repeat(128));
    expect(formatSyslogMessage(record(), { hostname: '', appName: ' ' }).split(' ').slice(2, 5)).toEqual([
      '-',
      '_',
      '-',
    ]);
  });

  it('keeps CR/LF in record fields escaped in the MSG: the message is a single line', () => {
    const r = record({ target: 'a\r\n<13>1 2025-01-01T00:00:00Z forged - - - - injected', userAgent: 'ü\u2028' });
    const message = formatSyslogMessage(r, OPTS);
    expect(message).not.toMatch(/[\r\n]/);
    expect(JSON.parse(message.slice(message.indexOf(BOM) + 1))).toEqual(r);
  });
});

describe('frameOctetCounting', () => {
  it('prefixes the length in bytes, not characters', () => {
    const message = formatSyslogMessage(record({ target: 'Grüße, 世界 🔑' }), OPTS);
    const frame = frameOctetCounting(message);
    const length = Buffer.byteLength(message, 'utf8');
    expect(length).toBeGreaterThan(message.length);
    expect(frame.subarray(0, `${length} `.length).toString('ascii')).toBe(`${length} `);
    expect(frame.subarray(`${length} `.length).toString('utf8')).toBe(message);
    expect(frame.length).toBe(`${length} `.length + length);
  });

  it('starts the MSG with the UTF-8 BOM bytes', () => {
    const frame = frameOctetCounting(formatSyslogMessage(record(), OPTS));
    const sdEnd = frame.indexOf('] ') + 2;
    expect([...frame.subarray(sdEnd, sdEnd + 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(frame.subarray(sdEnd + 3, sdEnd + 4).toString()).toBe('{');
  });

  it('frames an exact small message', () => {
    expect(frameOctetCounting('<110>1 - - - - - - é').toString('utf8')).toBe('21 <110>1 - - - - - - é');
  });
});
