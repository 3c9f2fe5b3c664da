import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ImageError } from './errors.js';
import { formatImageReference, type ImageReference, parseImageReference, rewriteToRegistry } from './reference.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  it.each<[string, ImageReference]>([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/library/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
    ['nvcr.io/nvidia/pytorch:24.05-py3', { registry: 'nvcr.io', repository: 'nvidia/pytorch', tag: '24.05-py3' }],
    [
      `registry.local:5000/team/app@${DIGEST}`,
      { registry: 'registry.local:5000', repository: 'team/app', digest: DIGEST },
    ],
    [
      `registry.local:5000/team/app:1.0@${DIGEST}`,
      { registry: 'registry.local:5000', repository: 'team/app', tag: '1.0', digest: DIGEST },
    ],
    ['[::1]:5000/a__b/c--d.e:Tag_1', { registry: '[::1]:5000', repository: 'a__b/c--d.e', tag: 'Tag_1' }],
    ['10.0.0.1:443/x', { registry: '10.0.0.1:443', repository: 'x' }],
  ])('parses %s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['', /empty image reference/],
    ['Nginx', /repository "library\/Nginx" must be lowercase/],
    ['registry.local/Team/app', /must be lowercase/],
    ['nginx:', /empty tag/],
    [`nginx:${'a'.repeat(129)}`, /tag is 129 characters long; at most 128/],
    ['nginx:-bad', /tag "-bad"/],
    ['nginx@sha256:abc', /digest "sha256:abc" is not sha256/],
    [`nginx@sha256:${'AB'.repeat(32)}`, /is not sha256/],
    [`nginx@sha512:${'ab'.repeat(64)}`, /is not sha256/],
    ['ngi nx', /whitespace/],
    ['nginx\n', /whitespace/],
    ['ngïnx', /non-ASCII/],
    ['a//b', /empty path component/],
    ['a/b/', /empty path component/],
    ['a/-b', /component "-b"/],
    ['a_/b', /component "a_"/],
    ['a___b', /component "a___b"/],
    ['reg_istry.local/app', /registry "reg_istry.local" is not a valid host name/],
    ['registry.local:99999/app', /invalid port/],
    ['registry.local:/app', /invalid port/],
    ['[::g]:5000/app', /malformed IPv6/],
    [`@${DIGEST}`, /empty repository name/],
    [`${'a'.repeat(256)}:1`, /name is longer than 255/],
    ['x'.repeat(1000), /characters long; at most/],
  ])('refuses %j', (text, message) => {
    expect(() => parseImageReference(text)).toThrow(ImageError);
    expect(() => parseImageReference(text)).toThrow(message);
  });

  const alnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  const separator = fc.constantFrom('.', '_', '__', '-', '--');
  const component = fc
    .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
    .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));
  const repository = fc.array(component, { minLength: 2, maxLength: 4 }).map((parts) => parts.join('/'));
  const hostLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const registry = fc
    .tuple(fc.array(hostLabel, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'local', 'internal'))
    .chain(([labels, tld]) =>
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }).map((port) => {
        const host = [...labels, tld].join('.');
        return port === undefined ? host : `${host}:${port}`;
      }),
    );
  const tag = fc.stringMatching(/^[\w][\w.-]{0,127}$/);
  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);
  const reference = fc.record(
    { registry, repository, tag, digest },
    { requiredKeys: ['registry', 'repository'] },
  ) as fc.Arbitrary<ImageReference>;

  test.prop([reference])('formats to a text that parses back to the same reference', (ref) => {
    const text = formatImageReference(ref);
    expect(parseImageReference(text)).toEqual(ref);
    expect(formatImageReference(parseImageReference(text))).toBe(text);
  });

  test.prop([reference, fc.nat(), fc.constantFrom(' ', '\t', 'A', '//', '!', '#', '\u00e9', '\u0000')])(
    'refuses a repository with a space, upper case, an empty component or a stray character',
    (ref, at, bad) => {
      const i = ref.registry.length + 1 + (at % (ref.repository.length + 1));
      const text = formatImageReference(ref);
      expect(() => parseImageReference(text.slice(0, i) + bad + text.slice(i))).toThrow(ImageError);
    },
  );

  test.prop([fc.string({ maxLength: 300 })])('never throws anything but an ImageError', (text) => {
    try {
      const ref = parseImageReference(text);
      expect(parseImageReference(formatImageReference(ref))).toEqual(ref);
    } catch (error) {
      expect(error).toBeInstanceOf(ImageError);
    }
  });
});

describe('formatImageReference and rewriteToRegistry', () => {
  it('writes the full form, registry included', () => {
    expect(formatImageReference(parseImageReference('nginx:1.27'))).toBe('docker.io/library/nginx:1.27');
    expect(formatImageReference(parseImageReference(`team/app@${DIGEST}`))).toBe(`docker.io/team/app@${DIGEST}`);
  });

  it('moves a reference to another registry, keeping repository, tag and digest', () => {
    const moved = rewriteToRegistry(parseImageReference(`nginx:1.27@${DIGEST}`), 'registry.local:5000');
    expect(moved).toEqual({
      registry: 'registry.local:5000',
      repository: 'library/nginx',
      tag: '1.27',
      digest: DIGEST,
    });
    expect(formatImageReference(moved)).toBe(`registry.local:5000/library/nginx:1.27@${DIGEST}`);
  });

  it('refuses to format or rewrite to something that would not parse', () => {
    const ref = parseImageReference('nginx:1.27');
    expect(() => rewriteToRegistry(ref, 'bad host')).toThrow(/registry "bad host"/);
    expect(() => rewriteToRegistry(ref, `${'a'.repeat(250)}.local`)).toThrow(/longer than 255/);
    expect(() => formatImageReference({ ...ref, repository: 'Up' })).toThrow(/lowercase/);
    expect(() => formatImageReference({ ...ref, tag: '' })).toThrow(/empty tag/);
  });
});
