import { insertUser, prepareUser } from './identity/index.js';
import { type Db, inTransaction } from './store/database.js';
import { newId, nowIso } from './store/ids.js';

/**
 * The first rows of a new install: the CSP operator's own org and its first platform
 * admin, whose one-time password is returned once and stored only as a hash.
 */
export async function bootstrapOperator(
  db: Db,
  admin: { email: string; firstName: string; lastName: string },
  orgName = 'Operator',
): Promise<{ orgId: string; userId: string; email: string; oneTimePassword: string }> {
  const existing = db.prepare("SELECT id FROM orgs WHERE kind = 'operator'").get();
  if (existing) throw new Error('this store already has an operator org');
  const { row, oneTimePassword } = await prepareUser({ ...admin, platformRole: 'platform-admin' });
  const orgId = newId('org');
  inTransaction(db, () => {
    const createdAt = nowIso();
    db.prepare("INSERT INTO orgs (id, name, kind, mfa_required, created_at) VALUES (?, ?, 'operator', 0, ?)").run(
      orgId,
      orgName,
      createdAt,
    );
    insertUser(db, row);
    db.prepare("INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, 'org-admin', ?)").run(
      orgId,
      row.id,
      createdAt,
    );
  });
  return { orgId, userId: row.id, email: row.email, oneTimePassword };
}
