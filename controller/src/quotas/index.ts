export { resourceLedger, type ResourceLedger } from './ledger.js';
export { ledgerDalFactory } from './ledger-dal.js';
export { quotaRoutes } from './quota-routes.js';
export { quotaServiceFactory, type QuotaService } from './quota-service.js';
export { holdingsOf, type Holdings } from './resources.js';
export { loadReferenceCapacity, REFERENCE_CAPACITY } from './reference-capacity.js';
