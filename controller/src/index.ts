export { startController, type RunningController } from './server.js';
export { initDevInstall, type DevInstall } from './dev-install.js';
export { createControllerApp } from './controller-app.js';
export { loadControllerConfig, type ControllerConfig } from './config/controller-config.js';
