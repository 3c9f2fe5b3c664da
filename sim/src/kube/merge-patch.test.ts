import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMergePatch } from './merge-patch.js';
import { KubeError } from './status.js';

describe('merge patches', () => {
  const target = { metadata: { labels: { a: '1', b: '2' } }, spec: { list: [1, 2], keep: true } };

  it('JSON merge patch: null deletes, maps merge, lists replace, inputs stay untouched', () => {
    const patched = mergePatch(target, { metadata: { labels: { a: null, c: '3' } }, spec: { list: [3] } });
    expect(patched).toEqual({ metadata: { labels: { b: '2', c: '3' } }, spec: { list: [3], keep: true } });
    expect(target.metadata.labels).toEqual({ a: '1', b: '2' });
  });

  it('strategic merge patch honours $patch and drops list-ordering directives', () => {
    expect(
      strategicMergePatch(target, {
        metadata: { labels: { $patch: 'replace', z: '9' } },
        spec: { $setElementOrder: [], list: [4], keep: { $patch: 'delete' } },
        $retainKeys: ['spec'],
      }),
    ).toEqual({ metadata: { labels: { z: '9' } }, spec: { list: [4] } });
  });

  it('JSON patch: add, remove, replace, move, copy, test', () => {
    const result = jsonPatch(target, [
      { op: 'add', path: '/spec/list/-', value: 3 },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'replace', path: '/spec/keep', value: false },
      { op: 'copy', from: '/spec/list', path: '/spec/copy' },
      { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/c~1d' },
      { op: 'test', path: '/spec/keep', value: false },
    ]);
    expect(result).toEqual({
      metadata: { labels: { 'c/d': '2' } },
      spec: { list: [1, 2, 3], keep: false, copy: [1, 2, 3] },
    });
    expect(() => jsonPatch(target, [{ op: 'test', path: '/spec/keep', value: false }])).toThrow(KubeError);
    expect(() => jsonPatch(target, [{ op: 'remove', path: '/nothing' }])).toThrow(KubeError);
  });
});
