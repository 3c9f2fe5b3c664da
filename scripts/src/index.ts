export { demoCommand, runDemo } from './demo.js';
