export * from './errors.js';
export { writeFileAtomic, createDirectoryAtomic, fsyncDirectory } from './atomic-fs.js';
export { encryptPrivateKey, decryptPrivateKey, MIN_PASSPHRASE_LENGTH } from './key-encryption.js';
export {
  isValidDnsName,
  isWithinDomain,
  parseCidr,
  isIpWithinRanges,
  isValidClientIdentity,
  type Cidr,
} from './names.js';
export {
  PKI_FILES,
  LIFETIME_DAYS,
  type PkiState,
  type IssuedCertificateRecord,
  type CertificateType,
} from './pki-layout.js';
export {
  initPki,
  openCertificateAuthority,
  renewRootCrl,
  listCertificates,
  validateIssueRequest,
  type CaUnlock,
  type CertificateAuthority,
  type IssueRequest,
  type IssuedCertificate,
  type CertificateSummary,
  type InitPkiOptions,
} from './certificate-authority.js';
export {
  loadTrustBundle,
  serverTlsOptions,
  clientTlsOptions,
  createMtlsServer,
  requireLeafClientCertificates,
  peerIdentity,
  type TrustBundle,
  type TlsIdentity,
} from './tls-options.js';
export { exportPkcs12 } from './p12.js';
export { readSecretFile } from './secret-files.js';
