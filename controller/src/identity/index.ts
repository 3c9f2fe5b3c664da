/**
 * The identity domain's public surface: the service and its routes for the app, the
 * OIDC login (service, routes, settings), the authenticator for every other route, and the user helpers that tenancy needs to create
 * users inside its own transactions.
 */
export type { Authentication } from './authentication.js';
export { createAuthenticator } from './authenticator.js';
export { DEFAULT_IDENTITY_CONFIG, type IdentityConfig } from './identity-config.js';
export { insertUser } from './identity-dal.js';
export { identityRoutes } from './identity-routes.js';
export { type IdentityService, identityServiceFactory } from './identity-service.js';
export { emailSchema, type NewUserRow, personNameSchema, type UserView } from './identity-types.js';
export { type OidcService, oidcServiceFactory, type OrgDirectory } from './oidc.js';
export { loadOidcSettings, type OidcSettings } from './oidc-config.js';
export { oidcRoutes } from './oidc-routes.js';
export { generatePassword, hashPassword, type PasswordCheck, verifyPassword } from './passwords.js';
export { type NewUserInput, prepareUser, type PreparedUser } from './users.js';
