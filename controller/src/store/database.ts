import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Opens the controller's store with the settings durability needs: WAL with
 * synchronous=FULL (a committed transaction survives power loss), foreign keys on,
 * and a busy timeout so a second connection (backup, CLI) waits instead of failing.
 */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** A migration is one step of schema; steps run in order, each in its own transaction. */
export type Migration = (db: Db) => void;

/**
 * Brings the schema to the newest version. `user_version` records how many steps
 * ran; each step and its version bump commit together, so a crash mid-way reruns
 * only the step that did not commit.
 */
export function migrate(db: Db, migrations: readonly Migration[]): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`the database is at schema version ${current}, newer than this controller (${migrations.length})`);
  }
  for (let version = current; version < migrations.length; version++) {
    const step = migrations[version] as Migration;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return migrations.length;
}

/** Runs `work` in one IMMEDIATE transaction (the writer lock is taken at the start). */
export function inTransaction<T>(db: Db, work: () => T): T {
  return db.transaction(work).immediate();
}
