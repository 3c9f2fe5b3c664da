import { Environment } from '@marcbachmann/cel-js';
import type { KubeObject } from '../index.js';

/** What the admission chain knows about one write: the resource, the operation, the object and its namespace. */
export interface AdmissionRequest {
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object: Record<string, unknown>;
  namespaceLabels: Record<string, string>;
}

export interface Verdict {
  /** whether the policy applies to this request at all (matchConstraints and the binding) */
  matched: boolean;
  /** the messages of the validations that evaluated to false */
  denials: string[];
  /** evaluation errors: under failurePolicy Fail each one also denies, but the corpus must produce none */
  errors: string[];
}

export interface ResourceRule {
  apiGroups?: string[];
  apiVersions?: string[];
  operations?: string[];
  resources?: string[];
}

interface PolicySpec {
  failurePolicy: string;
  matchConstraints: { resourceRules: ResourceRule[] };
  variables: { name: string; expression: string }[];
  validations: { expression: string; message: string }[];
}

interface BindingSpec {
  policyName: string;
  validationActions: string[];
  matchResources: { namespaceSelector: { matchLabels: Record<string, string> } };
}

const matchesOne = (allowed: string[] = [], value: string) => allowed.includes('*') || allowed.includes(value);

/** The rule matching of admissionregistration: group, version, operation, and `resource/subresource` exactly. */
export function matchesRules(rules: ResourceRule[], request: AdmissionRequest): boolean {
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  return rules.some(
    (rule) =>
      matchesOne(rule.apiGroups, request.group) &&
      matchesOne(rule.apiVersions, request.version) &&
      matchesOne(rule.operations, request.operation) &&
      matchesOne(rule.resources, resource),
  );
}

/**
 * The CEL environment of a ValidatingAdmissionPolicy: `object` and `oldObject` are dyn in Kubernetes too;
 * `params` is null without a paramKind; `namespaceObject` is the namespace; `variables` holds the composited
 * variables, evaluated in order (Kubernetes evaluates them lazily, which gives the same results).
 */
const environment = new Environment()
  .registerVariable('object', 'dyn')
  .registerVariable('oldObject', 'dyn')
  .registerVariable('params', 'dyn')
  .registerVariable('namespaceObject', 'dyn')
  .registerVariable('request', 'dyn')
  .registerVariable('variables', 'dyn');

export function admit(policy: KubeObject, binding: KubeObject, request: AdmissionRequest): Verdict {
  const spec = policy.spec as PolicySpec;
  const bindingSpec = binding.spec as BindingSpec;
  const selector = bindingSpec.matchResources.namespaceSelector.matchLabels;
  const selected = Object.entries(selector).every(([key, value]) => request.namespaceLabels[key] === value);
  if (bindingSpec.policyName !== policy.metadata.name) throw new Error('the binding names another policy');
  if (!selected || !matchesRules(spec.matchConstraints.resourceRules, request))
    return { matched: false, denials: [], errors: [] };

  const namespaceName = request.namespaceLabels['kubernetes.io/metadata.name'] ?? 'tenant';
  const context: Record<string, unknown> = {
    object: request.object,
    oldObject: request.operation === 'UPDATE' ? request.object : null,
    params: null,
    namespaceObject: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespaceName, labels: request.namespaceLabels },
    },
    request: {
      operation: request.operation,
      namespace: namespaceName,
      resource: { group: request.group, version: request.version, resource: request.resource },
      subResource: request.subresource ?? '',
    },
  };
  const errors: string[] = [];
  const variables: Record<string, unknown> = {};
  for (const variable of spec.variables) {
    try {
      variables[variable.name] = environment.evaluate(variable.expression, { ...context, variables });
    } catch (error) {
      errors.push(`variables.${variable.name}: ${(error as Error).message}`);
    }
  }
  const denials: string[] = [];
  for (const validation of spec.validations) {
    try {
      const result = environment.evaluate(validation.expression, { ...context, variables });
      if (typeof result !== 'boolean') errors.push(`${validation.expression}: returned ${String(result)}`);
      else if (!result) denials.push(validation.message);
    } catch (error) {
      errors.push(`${validation.expression}: ${(error as Error).message}`);
    }
  }
  return { matched: true, denials, errors };
}
