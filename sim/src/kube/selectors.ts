/**
 * Label and field selectors with the grammar of k8s.io/apimachinery: `=`, `==`, `!=`,
 * `in (…)`, `notin (…)`, `key`, `!key`, `>`/`<` for labels; `=`, `==`, `!=` for fields.
 * A selector is parsed once per request into a predicate.
 */
import { errors } from './status.js';
import type { KubeObject } from './object-store.js';

export type ObjectPredicate = (object: KubeObject) => boolean;

type Requirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

const KEY = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`);
const COMPARE = new RegExp(`^(${KEY})\\s*(==|=|!=|>|<)\\s*(${VALUE})$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits on commas that are not inside `( … )`, so `a in (x,y),b` is two terms. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((term) => term.trim());
}

function parseRequirement(term: string): Requirement {
  const fail = () => errors.badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
  const set = SET.exec(term);
  if (set) {
    const values = (set[3] ?? '').split(',').map((value) => value.trim());
    if (!values.every((value) => VALUE_ONLY.test(value))) throw fail();
    return { key: set[1] ?? '', op: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const compare = COMPARE.exec(term);
  if (compare) {
    const [, key = '', op, value = ''] = compare;
    if (op === '>' || op === '<') {
      if (!/^-?\d+$/.test(value)) throw fail();
      return { key, op: op === '>' ? 'gt' : 'lt', value: Number(value) };
    }
    return { key, op: op === '!=' ? 'notin' : 'in', values: [value] };
  }
  const exists = EXISTS.exec(term);
  if (exists) return { key: exists[2] ?? '', op: exists[1] ? 'notexists' : 'exists' };
  throw fail();
}

function matches(requirement: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = labels[requirement.key];
  switch (requirement.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && requirement.values.includes(value ?? '');
    // As in Kubernetes, an object without the label satisfies `!=` and `notin`.
    case 'notin':
      return !has || !requirement.values.includes(value ?? '');
    case 'gt':
      return has && /^-?\d+$/.test(value ?? '') && Number(value) > requirement.value;
    case 'lt':
      return has && /^-?\d+$/.test(value ?? '') && Number(value) < requirement.value;
  }
}

export function parseLabelSelector(text: string | null | undefined): ObjectPredicate {
  if (!text || text.trim() === '') return () => true;
  const requirements = splitTerms(text).map(parseRequirement);
  return (object) => requirements.every((requirement) => matches(requirement, object.metadata.labels ?? {}));
}

/** Reads a dotted field path such as `metadata.name` or `status.phase`; absent reads as "". */
export function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[part];
  }
  return current === undefined || current === null ? '' : String(current);
}

/** Field selector values may escape `,`, `=` and `\` with a backslash, as `fields.EscapeValue` writes them. */
function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

export function parseFieldSelector(text: string | null | undefined): ObjectPredicate {
  if (!text || text.trim() === '') return () => true;
  const terms = text.split(/(?<!\\),/).map((term) => term.trim());
  const checks = terms.map((term) => {
    const match = /^([A-Za-z0-9_.-]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!match) throw errors.badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, path = '', op, raw = ''] = match;
    const value = unescape(raw);
    return (object: KubeObject) => (fieldValue(object, path) === value) === (op !== '!=');
  });
  return (object) => checks.every((check) => check(object));
}

/** Both selectors of a list or watch request, as one predicate. */
export function selectorPredicate(labelSelector?: string | null, fieldSelector?: string | null): ObjectPredicate {
  const byLabel = parseLabelSelector(labelSelector);
  const byField = parseFieldSelector(fieldSelector);
  return (object) => byLabel(object) && byField(object);
}
