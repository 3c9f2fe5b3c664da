/** Why an export was not written; the CLI exits 1 with it. (Thrown by the exporter and by its tar writer.) */
export class AuditExportError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'AuditExportError';
  }
}
