import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { readSecretFile } from '@sovereign/pki';
import type { Logger } from 'pino';
import type { ControllerConfig } from '../config/controller-config.js';
import type { Db } from '../store/database.js';
import type { AuditLog } from './audit-log.js';
import { createSyslogForwarder, type SyslogForwarder } from './siem/syslog-forwarder.js';

const FORWARDER = 'siem';

/**
 * Streams the audit log to the configured SIEM, resuming from the last record it handed
 * over (kept in the store, so a restart neither skips nor floods).
 */
export async function startSiemForwarder(
  config: NonNullable<ControllerConfig['audit']['siem']>,
  deps: { db: Db; auditLog: AuditLog; logger: Logger; at: (path: string) => string },
): Promise<SyslogForwarder> {
  const { db, auditLog, logger, at } = deps;
  const load = db.prepare<[string], { delivered_seq: number }>(
    'SELECT delivered_seq FROM audit_forwarders WHERE name = ?',
  );
  const save = db.prepare<[string, number]>(
    'INSERT INTO audit_forwarders (name, delivered_seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET delivered_seq = excluded.delivered_seq',
  );
  const forwarder = createSyslogForwarder({
    host: config.host,
    port: config.port,
    ca: await readFile(at(config.caFile), 'utf8'),
    ...(config.certFile ? { cert: await readFile(at(config.certFile), 'utf8') } : {}),
    ...(config.keyFile ? { key: await readFile(at(config.keyFile), 'utf8') } : {}),
    ...(config.keyPassphraseFile
      ? { passphrase: await readSecretFile(at(config.keyPassphraseFile), 'audit.siem.keyPassphraseFile') }
      : {}),
    source: { readAfter: (seq, limit) => auditLog.readAfter(seq, limit) },
    cursor: { load: () => load.get(FORWARDER)?.delivered_seq ?? 0, save: (seq) => save.run(FORWARDER, seq) },
    hostname: hostname(),
    logger: { info: (obj, msg) => logger.info(obj, msg), warn: (obj, msg) => logger.warn(obj, msg) },
  });
  auditLog.onCommit(() => forwarder.notify());
  forwarder.start();
  return forwarder;
}
