/** The billing domain: usage and charges per instance, from the lifecycle's transitions, as JSON or CSV. */
export { billingRoutes } from './billing-routes.js';
export {
  type BillingService,
  type BillingServiceDeps,
  billingServiceFactory,
  MAX_INSTANCES_PER_REPORT,
} from './billing-service.js';
export { usageCsv } from './billing-csv.js';
