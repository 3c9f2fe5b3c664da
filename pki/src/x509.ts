// @peculiar/x509 2.x resolves its services through tsyringe, which needs a Reflect
// polyfill loaded before it. ES modules evaluate imports in order, so every module in
// this package imports X.509 from here and never from '@peculiar/x509' directly.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
