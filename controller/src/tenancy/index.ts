/** The tenancy domain: orgs, org members, workspaces, workspace members and support grants. */
export { orgDirectoryFactory } from './org-directory.js';
export { tenancyRoutes } from './tenancy-routes.js';
export { type TenancyService, type TenancyServiceDeps, tenancyServiceFactory } from './tenancy-service.js';
export type { NewUserInput, UserFactory, UserRow } from './user-factory.js';
