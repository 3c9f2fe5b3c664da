import { type AuditRecord, exportLine } from '../audit-record.js';

/**
 * RFC 5424 syslog messages for audit records, and RFC 5425 octet-counting framing.
 *
 * A SIEM indexes the header and the structured data; the MSG carries the record's exact
 * export line, so the receiver can re-hash it and check it against a Merkle checkpoint.
 */

/** RFC 5424 facility 13, "log audit". */
const FACILITY_LOG_AUDIT = 13;
const SEVERITY_WARNING = 4;
const SEVERITY_INFORMATIONAL = 6;

/** The SD-ID of our structured data; 32473 is the private enterprise number RFC 5612 reserves for examples. */
export const SYSLOG_SD_ID = 'sovereign@32473';

const NILVALUE = '-';
/** RFC 5424 §6.4: a MSG in UTF-8 starts with the BOM, so the receiver need not guess the encoding. */
const UTF8_BOM = '\uFEFF';

/** Maximum lengths of the header fields (RFC 5424 §6). */
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;

/** FULL-DATE "T" FULL-TIME with at most six fraction digits and a Z or ±hh:mm offset (RFC 5424 §6.2.3). */
const RFC5424_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

export interface SyslogMessageOptions {
  hostname: string;
  appName: string;
  procId?: string;
}

/**
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [sovereign@32473 …] BOM exportLine`.
 * Every header field is reduced to printable US-ASCII, so neither a space nor a line
 * break in an action or a configured hostname can shift the fields a receiver parses.
 */
export function formatSyslogMessage(record: AuditRecord, opts: SyslogMessageOptions): string {
  const header = [
    `<${priority(record)}>1`,
    timestamp(record.time),
    headerField(opts.hostname, MAX_HOSTNAME),
    headerField(opts.appName, MAX_APP_NAME),
    headerField(opts.procId ?? '', MAX_PROCID),
    headerField(record.action, MAX_MSGID),
  ].join(' ');
  return `${header} ${structuredData(record)} ${UTF8_BOM}${exportLine(record)}`;
}

/** RFC 5425 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes of the UTF-8 message. */
export function frameOctetCounting(msg: string): Buffer {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** Denied and failed actions are what an analyst looks at first: they are warnings, everything else is informational. */
function priority(record: AuditRecord): number {
  const severity = record.outcome === 'success' ? SEVERITY_INFORMATIONAL : SEVERITY_WARNING;
  return FACILITY_LOG_AUDIT * 8 + severity;
}

/** Records carry ISO-8601 UTC with milliseconds, which is already an RFC 5424 TIMESTAMP; anything else is NILVALUE. */
function timestamp(time: string): string {
  return RFC5424_TIMESTAMP.test(time) ? time : NILVALUE;
}

/**
 * PRINTUSASCII (%d33-126) only: every other code point, space and controls included,
 * becomes `_`; then cut to the field's maximum. An empty field is NILVALUE.
 */
function headerField(value: string, maxLength: number): string {
  let printable = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    printable += code >= 33 && code <= 126 ? char : '_';
    if (printable.length === maxLength) break;
  }
  return printable === '' ? NILVALUE : printable;
}

function structuredData(record: AuditRecord): string {
  const params: [string, string][] = [
    ['seq', String(record.seq)],
    ['leafHash', record.leafHash],
    ['outcome', record.outcome],
  ];
  // A record without an organisation has no org parameter, rather than one that reads as an empty id.
  if (record.orgId !== null) params.push(['org', record.orgId]);
  return `[${SYSLOG_SD_ID}${params.map(([name, value]) => ` ${name}="${paramValue(value)}"`).join('')}]`;
}

/**
 * RFC 5424 §6.3.3 requires escaping `"`, `\` and `]`. Control characters are legal there,
 * but a receiver that stores messages line by line would split on CR/LF, so they are
 * written as `\uXXXX` text instead; the exact value is in the MSG.
 */
function paramValue(value: string): string {
  return value.replace(/["\\\]]|\p{Cc}/gu, (char) =>
    /\p{Cc}/u.test(char) ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : `\\${char}`,
  );
}
