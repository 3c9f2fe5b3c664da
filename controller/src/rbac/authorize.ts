import { forbidden, notFound, type ProblemError } from '../http/problem.js';
import { type Action, canSeeOrg, isAllowed, type Scope } from './permissions.js';
import type { Principal } from './roles.js';

const denial = (problem: ProblemError) => Object.assign(problem, { denied: true });

/**
 * The one gate every service method passes first. Outside the caller's tenants the
 * answer is 404 (the resource "does not exist" for them); inside, a missing right is 403.
 */
export function authorize(principal: Principal, action: Action, scope: Scope, what = 'resource'): void {
  if (scope.kind !== 'platform' && !canSeeOrg(principal, scope.orgId)) throw denial(notFound(what));
  if (
    scope.kind === 'workspace' &&
    !isAllowed(principal, 'workspace.read', scope) &&
    !isAllowed(principal, action, scope)
  )
    throw denial(notFound(what));
  if (!isAllowed(principal, action, scope)) throw denial(forbidden());
}
