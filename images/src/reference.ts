import { isIPv6 } from 'node:net';
import { isSha256Digest } from './digest.js';
import { ImageError } from './errors.js';

/**
 * A Docker-style image reference, normalized the way the docker CLI does it:
 * no registry means docker.io, and a one-part docker.io name lives under `library/`.
 */
export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_REPOSITORY_PREFIX = 'library/';

/** Docker's limits: 255 for the name (registry + repository as written), 128 for a tag. */
const MAX_NAME_LENGTH = 255;
const MAX_TAG_LENGTH = 128;
/** Name, ':' + tag and '@' + a sha256 digest; checked before any pattern runs. */
const MAX_REFERENCE_LENGTH = MAX_NAME_LENGTH + 1 + MAX_TAG_LENGTH + 1 + 71;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const TAG = /^\w[\w.-]*$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;

/** Quoted for messages; references are bounded before they get here, so no truncation. */
const quote = (text: string) => JSON.stringify(text);

function invalid(text: string, problem: string): ImageError {
  return new ImageError(`image reference ${quote(text)}: ${problem}`, 'invalid_reference');
}

/** Splits `host[:port]` or `[ipv6][:port]`; undefined when the brackets are malformed. */
function splitHostPort(registry: string): { host: string; ipv6: boolean; port?: string } | undefined {
  if (registry.startsWith('[')) {
    const end = registry.indexOf(']');
    const rest = registry.slice(end + 1);
    if (end < 0 || (rest !== '' && !rest.startsWith(':'))) return undefined;
    return { host: registry.slice(1, end), ipv6: true, ...(rest && { port: rest.slice(1) }) };
  }
  const colon = registry.indexOf(':');
  if (colon < 0) return { host: registry, ipv6: false };
  return { host: registry.slice(0, colon), ipv6: false, port: registry.slice(colon + 1) };
}

/** Returns what is wrong with a registry host (`host`, `host:port`, `[ipv6]:port`), or undefined. */
function registryProblem(registry: string): string | undefined {
  if (registry.length === 0) return 'empty registry';
  const parts = splitHostPort(registry);
  if (!parts || (parts.ipv6 && !isIPv6(parts.host))) return `registry ${quote(registry)} has a malformed IPv6 address`;
  if (!parts.ipv6 && !parts.host.split('.').every((label) => DOMAIN_LABEL.test(label))) {
    return `registry ${quote(registry)} is not a valid host name`;
  }
  if (parts.port !== undefined && (!/^[0-9]{1,5}$/.test(parts.port) || Number(parts.port) > 65535)) {
    return `registry ${quote(registry)} has an invalid port`;
  }
  return undefined;
}

function repositoryProblem(repository: string): string | undefined {
  if (repository.length === 0) return 'empty repository name';
  for (const component of repository.split('/')) {
    if (component === '') return `repository ${quote(repository)} has an empty path component`;
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) return `repository ${quote(repository)} must be lowercase`;
    return `repository ${quote(repository)}: component ${quote(component)} may hold only a-z, 0-9 and single separators (. _ __ -) between them`;
  }
  return undefined;
}

function tagProblem(tag: string): string | undefined {
  if (tag.length === 0) return 'empty tag';
  if (tag.length > MAX_TAG_LENGTH) return `tag is ${tag.length} characters long; at most ${MAX_TAG_LENGTH} are allowed`;
  if (!TAG.test(tag)) return `tag ${quote(tag)} may hold only A-Z, a-z, 0-9, _ . - and must not start with . or -`;
  return undefined;
}

function digestProblem(digest: string): string | undefined {
  return isSha256Digest(digest)
    ? undefined
    : `digest ${quote(digest)} is not sha256: followed by 64 lowercase hex digits`;
}

/** Docker's rule: the first component is a registry only if it looks like a host. */
function splitRegistry(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = name.slice(0, slash);
  const looksLikeHost = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  let registry = looksLikeHost ? first : DEFAULT_REGISTRY;
  let repository = looksLikeHost ? name.slice(slash + 1) : name;
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = OFFICIAL_REPOSITORY_PREFIX + repository;
  return { registry, repository };
}

/**
 * Parses `[registry/]repository[:tag][@digest]`. Only sha256 digests are accepted, and
 * a missing tag stays missing (no implicit `latest`): the caller decides what that means.
 */
export function parseImageReference(text: string): ImageReference {
  if (typeof text !== 'string' || text.length === 0) throw invalid(String(text ?? ''), 'empty image reference');
  if (text.length > MAX_REFERENCE_LENGTH) {
    throw invalid(text.slice(0, 64) + '…', `${text.length} characters long; at most ${MAX_REFERENCE_LENGTH} allowed`);
  }
  if (!PRINTABLE_ASCII.test(text)) throw invalid(text, 'contains whitespace, a control or a non-ASCII character');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) throw invalid(text, problem);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    const problem = tagProblem(tag);
    if (problem) throw invalid(text, problem);
  }
  if (rest.length === 0) throw invalid(text, 'empty repository name');
  if (rest.length > MAX_NAME_LENGTH) throw invalid(text, `name is longer than ${MAX_NAME_LENGTH} characters`);

  const { registry, repository } = splitRegistry(rest);
  const problem =
    (registry === DEFAULT_REGISTRY ? undefined : registryProblem(registry)) ?? repositoryProblem(repository);
  if (problem) throw invalid(text, problem);
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

function checkReference(ref: ImageReference): void {
  const problem =
    registryProblem(ref.registry) ??
    repositoryProblem(ref.repository) ??
    (ref.tag === undefined ? undefined : tagProblem(ref.tag)) ??
    (ref.digest === undefined ? undefined : digestProblem(ref.digest));
  if (problem) throw invalid(`${ref.registry}/${ref.repository}`, problem);
  if (ref.registry.length + 1 + ref.repository.length > MAX_NAME_LENGTH) {
    throw invalid(`${ref.registry}/${ref.repository}`, `name is longer than ${MAX_NAME_LENGTH} characters`);
  }
}

/** The full form, registry included: `docker.io/library/nginx:1.27`, `host:5000/team/app@sha256:…`. */
export function formatImageReference(ref: ImageReference): string {
  checkReference(ref);
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The same repository, tag and digest on another registry (e.g. the operator's local one). */
export function rewriteToRegistry(ref: ImageReference, registry: string): ImageReference {
  const rewritten: ImageReference = { ...ref, registry };
  checkReference(rewritten);
  return rewritten;
}
