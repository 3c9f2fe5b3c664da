import type { OrgRole } from '../rbac/roles.js';
import type { Db } from '../store/database.js';
import { tenancyDalFactory } from './tenancy-dal.js';

/**
 * What identity's OIDC login needs from tenancy (identity/oidc.ts declares the shape): find
 * the org an identity provider names, and give the user the role it says. No principal is
 * involved (the IdP's signed claims are the authority), so these are not tenancy service
 * methods; both are synchronous so that they run inside identity's login transaction.
 *
 * Only customer orgs: the operator org is the CSP's own, and an identity provider (often
 * shared with tenants) must not be able to place anyone in it. The IdP's role wins over the
 * one stored, even when it demotes the org's last admin: for its users the IdP is the
 * authority, and keeping a role it withdrew would be the worse failure.
 */
export function orgDirectoryFactory(db: Db) {
  const dal = tenancyDalFactory(db);
  return {
    /** A customer org by id or, failing that, by name (case-insensitive). */
    findCustomerOrg(reference: string): { id: string; name: string } | undefined {
      const org = dal.findOrg(reference) ?? dal.findOrgByName(reference);
      return org?.kind === 'customer' ? { id: org.id, name: org.name } : undefined;
    },
    /** Makes the user a member of the org with exactly this role, inserting or updating. */
    setOrgRole(orgId: string, userId: string, role: OrgRole, at: string): void {
      const member = dal.findOrgMember(orgId, userId);
      if (!member) dal.insertOrgMember(orgId, userId, role, at);
      else if (member.role !== role) dal.updateOrgMember(orgId, userId, role);
    },
  };
}
