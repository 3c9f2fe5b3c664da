import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Header } from 'tar';
import { afterAll } from 'vitest';
import { buildImage, type ImageSpec, type LayerSpec } from '../image-builder.js';
import { OciLayoutWriter } from '../oci-layout-writer.js';

const execFileAsync = promisify(execFile);

/** A temporary directory removed when the test file ends. */
export async function tempDir(prefix = 'sovereign-images-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real program and returns its exit code and output instead of throwing. */
export async function run(file: string, args: string[]): Promise<ProcessResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : 1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    };
  }
}

/** skopeo, the reference reader of OCI layouts; `--insecure-policy` because tests have no policy.json. */
export const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', ...args]);

export const text = (value: string) => Buffer.from(value, 'utf8');

/** A base layer two test images share, and a spec for an image on top of it. */
export const baseLayer: LayerSpec = {
  files: [
    { path: 'etc/os-release', content: text('ID=sovereign-test\n') },
    { path: 'bin/hello', content: text('#!/bin/sh\necho hello\n'), mode: 0o755 },
  ],
};

export function appSpec(ref: string, marker: string, extra: Partial<ImageSpec> = {}): ImageSpec {
  return {
    ref,
    layers: [baseLayer, { files: [{ path: `srv/${marker}.txt`, content: text(marker) }] }],
    config: { cmd: ['/bin/hello'], env: ['PATH=/bin'], labels: { 'org.example.marker': marker } },
    ...extra,
  };
}

/** Builds the given images into a fresh layout directory and closes it. */
export async function buildLayout(dir: string, specs: ImageSpec[]): Promise<void> {
  const writer = await OciLayoutWriter.create(dir);
  for (const spec of specs) await buildImage(writer, spec);
  await writer.close();
}

export interface RawTarEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink';
  content?: Uint8Array;
  linkpath?: string;
}

/**
 * Writes a tar exactly as told, header by header: node-tar's packer would strip the
 * '..' and absolute paths that the refusal tests need.
 */
export async function writeRawTar(path: string, entries: RawTarEntry[]): Promise<void> {
  const chunks: Uint8Array[] = [];
  for (const entry of entries) {
    const content = entry.content ?? new Uint8Array();
    const header = new Header({
      path: entry.path,
      type: entry.type ?? 'File',
      mode: entry.type === 'Directory' ? 0o755 : 0o644,
      size: content.length,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath !== undefined && { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    chunks.push(block, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  chunks.push(Buffer.alloc(1024));
  await writeFile(path, Buffer.concat(chunks));
}
