import { describe, expect, it } from 'vitest';
import { decodeKubernetesProtobuf } from './protobuf.js';
import { KubeError } from './status.js';

/** A minimal protobuf writer, enough to build what kubectl sends. */
const varint = (value: number): Buffer => {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
};
const bytesField = (field: number, value: Buffer | string) => {
  const payload = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
};
const varintField = (field: number, value: number) => Buffer.concat([varint(field << 3), varint(value)]);
const entry = (field: number, key: string, value: Buffer | string) =>
  bytesField(field, Buffer.concat([bytesField(1, key), bytesField(2, value)]));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([
    Buffer.from('k8s\0', 'binary'),
    bytesField(1, Buffer.concat([bytesField(1, apiVersion), bytesField(2, kind)])),
    bytesField(2, raw),
  ]);

describe('protobuf bodies', () => {
  it('decodes a Secret as kubectl create secret sends it, dropping empty fields', () => {
    const metadata = Buffer.concat([
      bytesField(1, 's1'),
      bytesField(2, ''),
      bytesField(3, 'ns1'),
      entry(11, 'app', 'web'),
      bytesField(8, Buffer.alloc(0)),
      varintField(7, 0),
    ]);
    const raw = Buffer.concat([
      bytesField(1, metadata),
      entry(2, 'password', Buffer.from([0, 1, 2])),
      bytesField(3, 'Opaque'),
    ]);
    expect(decodeKubernetesProtobuf(envelope('v1', 'Secret', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1', namespace: 'ns1', labels: { app: 'web' } },
      data: { password: 'AAEC' },
      type: 'Opaque',
    });
  });

  it('decodes a TokenRequest, with its 64-bit expiration and unknown fields skipped', () => {
    const spec = Buffer.concat([bytesField(1, 'api'), varintField(4, 7200), varintField(9, 1)]);
    expect(
      decodeKubernetesProtobuf(envelope('authentication.k8s.io/v1', 'TokenRequest', bytesField(2, spec))),
    ).toMatchObject({
      spec: { audiences: ['api'], expirationSeconds: 7200 },
    });
  });

  it('refuses kinds it has no schema for with 415, and a body without the magic with 400', () => {
    expect(() => decodeKubernetesProtobuf(envelope('apps/v1', 'Deployment', Buffer.alloc(0)))).toThrow(
      expect.objectContaining({ code: 415 }) as KubeError,
    );
    expect(() => decodeKubernetesProtobuf(Buffer.from('{}'))).toThrow(
      expect.objectContaining({ code: 400 }) as KubeError,
    );
  });
});
