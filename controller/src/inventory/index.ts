export { type InventoryDal, inventoryDalFactory, type NodeRow } from './inventory-dal.js';
export { inventoryRoutes } from './inventory-routes.js';
export { type InventoryService, inventoryServiceFactory } from './inventory-service.js';
export { syncInventory } from './inventory-sync.js';
