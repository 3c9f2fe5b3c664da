export { instanceDalFactory, type InstanceDal } from './instance-dal.js';
export { instanceReconciler } from './instance-reconciler.js';
export { instanceRoutes } from './instance-routes.js';
export { instanceServiceFactory, type InstanceService } from './instance-service.js';
