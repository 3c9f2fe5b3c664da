// Child process for the crash test: writes multi-row changes in a loop, printing each
// id once its transaction has committed, until the parent kills it with SIGKILL.
import { newId, nowIso } from '../../dist/store/ids.js';
import { inTransaction, migrate, openDatabase } from '../../dist/store/database.js';
import { MIGRATIONS } from '../../dist/store/migrations.js';

const db = openDatabase(process.argv[2]);
migrate(db, MIGRATIONS);
const insertOrg = db.prepare("INSERT INTO orgs (id, name, kind, created_at) VALUES (?, ?, 'customer', ?)");
const insertWorkspace = db.prepare('INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?, ?, ?, ?)');
for (let i = 0; ; i++) {
  const orgId = newId('org');
  inTransaction(db, () => {
    const at = nowIso();
    insertOrg.run(orgId, `crash-org-${process.pid}-${i}`, at);
    for (let w = 0; w < 3; w++) insertWorkspace.run(newId('ws'), orgId, `ws-${w}`, at);
  });
  process.stdout.write(`${orgId}\n`);
}
