/** The catalog domain: compute profiles (SKUs), service profiles, publishing, and the default catalog. */
export { catalogRoutes } from './catalog-routes.js';
export { type CatalogService, type CatalogServiceDeps, catalogServiceFactory } from './catalog-service.js';
export { DEFAULT_COMPUTE_PROFILES, DEFAULT_SERVICE_PROFILES, loadDefaultCatalog } from './default-catalog.js';
