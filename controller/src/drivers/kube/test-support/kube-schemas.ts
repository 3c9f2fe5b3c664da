import * as k8s from '@kubernetes/client-node';
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { LimitRange, Namespace, ResourceQuota, Secret, ServiceAccount } from 'kubernetes-models/v1';
import type { KubeObject } from '../index.js';

interface SchemaModel {
  new (data: never): { validate(): void };
}

/** kubernetes-models (JSON-schema types and required fields) and the client-node model name (the field list). */
const MODELS: Record<string, [SchemaModel, string]> = {
  'v1/Namespace': [Namespace, 'V1Namespace'],
  'v1/ResourceQuota': [ResourceQuota, 'V1ResourceQuota'],
  'v1/LimitRange': [LimitRange, 'V1LimitRange'],
  'v1/Secret': [Secret, 'V1Secret'],
  'v1/ServiceAccount': [ServiceAccount, 'V1ServiceAccount'],
  'networking.k8s.io/v1/NetworkPolicy': [NetworkPolicy, 'V1NetworkPolicy'],
  'rbac.authorization.k8s.io/v1/Role': [Role, 'V1Role'],
  'rbac.authorization.k8s.io/v1/RoleBinding': [RoleBinding, 'V1RoleBinding'],
  'node.k8s.io/v1/RuntimeClass': [RuntimeClass, 'V1RuntimeClass'],
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': [
    ValidatingAdmissionPolicy,
    'V1ValidatingAdmissionPolicy',
  ],
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': [
    ValidatingAdmissionPolicyBinding,
    'V1ValidatingAdmissionPolicyBinding',
  ],
};

export const hasSchema = (object: KubeObject) => `${object.apiVersion}/${object.kind}` in MODELS;

/** Throws when the object breaks its Kubernetes JSON schema (types, enums, required fields). */
export function validateSchema(object: KubeObject): void {
  const entry = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!entry) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new entry[0](object as never).validate();
}

interface AttributeType {
  baseName: string;
  type: string;
}
type ClientModel = { getAttributeTypeMap(): AttributeType[] } | undefined;
const clientModels = k8s as unknown as Record<string, ClientModel>;

/**
 * The JSON schemas of kubernetes-models accept unknown fields, which the API server would drop (or refuse under
 * strict field validation): walk the object along client-node's attribute maps, by wire name, to find them.
 */
export function unknownFields(object: KubeObject): string[] {
  const entry = MODELS[`${object.apiVersion}/${object.kind}`];
  return entry ? walk(object, entry[1], object.kind) : [`${object.kind}: no model`];
}

function walk(value: unknown, type: string, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  const list = /^Array<(.+)>$/.exec(type);
  if (list) return (value as unknown[]).flatMap((item, i) => walk(item, list[1] as string, `${path}[${i}]`));
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(value).flatMap(([key, item]) => walk(item, map[1] as string, `${path}.${key}`));
  const attributes = clientModels[type]?.getAttributeTypeMap();
  if (!attributes) return [];
  return Object.entries(value).flatMap(([key, item]) => {
    const attribute = attributes.find((a) => a.baseName === key);
    return attribute ? walk(item, attribute.type, `${path}.${key}`) : [`${path}.${key}`];
  });
}
