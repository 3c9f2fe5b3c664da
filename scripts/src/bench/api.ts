import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { callApi as call, firstLogin } from '../https-json.js';
import { CLI, hasTaskset, initDevInstall, LOAD_CORE, pinned, pinSelf, SERVER_CORE, waitForLine } from './processes.js';

/**
 * `npm run bench -- api [--seconds N] [--rounds N] [--connections N]`: the controller's authenticated
 * reads under load, beside a bare express route returning the same JSON over the same
 * TLS certificate, measured in the same run on the same machine.
 */

// A plain ES module kept in src/ (the compiler does not copy it to dist/).
const BARE = fileURLToPath(new URL('../../src/bench/bare-server.mjs', import.meta.url));
const say = (line = '') => process.stdout.write(`${line}\n`);

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, ca: string, connections: number, seconds: number, cookie?: string): Promise<Figures> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: cookie ? { cookie } : {},
    tlsOptions: { ca },
  } as autocannon.Options);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export async function benchApi(args: string[]): Promise<void> {
  pinSelf(LOAD_CORE);
  const option = (name: string, fallback: number) => {
    const index = args.indexOf(name);
    return index >= 0 ? Number(args[index + 1]) : fallback;
  };
  const seconds = option('--seconds', 5);
  const rounds = option('--rounds', 3);
  const connections = option('--connections', 50);
  const work = await mkdtemp(join(tmpdir(), 'sovereign-bench-api-'));
  const children: ChildProcess[] = [];
  try {
    const installDir = join(work, 'install');
    const install = initDevInstall(installDir);
    const ca = await readFile(install.caCert, 'utf8');
    const controller = spawn(
      ...pinned(SERVER_CORE, [process.execPath, CLI, 'controller', 'start', '--dir', installDir]),
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(controller);
    const [, apiUrl = ''] = await waitForLine(controller, /controller listening: api (\S+),/);

    const api = `${apiUrl}/api/v1`;
    const adminCookie = await firstLogin(api, ca, install.adminEmail, install.adminPassword, 'bench admin passphrase');
    const onboarded = await call(
      `${apiUrl}/api/v1/orgs`,
      ca,
      'POST',
      { name: 'Bench Org', admin: { firstName: 'Bea', lastName: 'Bench', email: 'bea@bench.example' } },
      adminCookie,
    );
    const orgId = onboarded.body.org.id as string;
    const beaCookie = await firstLogin(
      api,
      ca,
      'bea@bench.example',
      onboarded.body.admin.oneTimePassword,
      'bench tenant passphrase',
    );
    for (let i = 0; i < 10; i++)
      await call(`${apiUrl}/api/v1/orgs/${orgId}/workspaces`, ca, 'POST', { name: `workspace-${i}` }, beaCookie);
    // The peer answers each endpoint's own JSON, so both sides send the same bytes.
    const endpoints = [
      { name: 'GET /api/v1/me (session cookie)', path: '/api/v1/me' },
      { name: 'GET /api/v1/orgs/{org}/workspaces', path: `/api/v1/orgs/${orgId}/workspaces` },
    ];
    const bodyFiles: string[] = [];
    for (const [index, endpoint] of endpoints.entries()) {
      const answer = await call(`${apiUrl}${endpoint.path}`, ca, 'GET', undefined, beaCookie);
      bodyFiles.push(join(work, `body-${index}.json`));
      await writeFile(bodyFiles[index] as string, JSON.stringify(answer.body));
    }

    const config = join(installDir, 'config');
    const bareCommand = [
      process.execPath,
      BARE,
      join(config, 'controller.crt'),
      join(config, 'controller.key'),
      join(config, 'controller.key.pass'),
      ...bodyFiles,
    ];
    const bare = spawn(...pinned(SERVER_CORE, bareCommand), { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(bare);
    const [, barePort = ''] = await waitForLine(bare, /listening (\d+)/);
    controller.stdout?.resume();

    say(
      `API benchmark: ${connections} connections, ${rounds} alternating rounds of ${seconds} s per endpoint and peer, HTTPS (TLS 1.3) on 127.0.0.1; servers on core ${SERVER_CORE}, load generator on core ${LOAD_CORE}${hasTaskset ? '' : ' (taskset missing: not pinned)'}; the controller logs every request (info)`,
    );
    // This machine's speed drifts from one minute to the next (shared host): peer and
    // controller take turns, round after round, and each round gives a ratio; the median
    // round is reported.
    const row = (name: string, f: Figures, ratio: string) =>
      `| ${name} | ${f.rps.toFixed(0)} | ${f.p50} ms | ${f.p99} ms | ${ratio} | ${f.errors + f.non2xx} |`;
    const rows: string[] = [];
    for (const [index, endpoint] of endpoints.entries()) {
      const turns: { peer: Figures; ours: Figures; ratio: number }[] = [];
      for (let round = 0; round < rounds; round++) {
        const peer = await load(`https://127.0.0.1:${barePort}/bare/${index}`, ca, connections, seconds);
        const ours = await load(`${apiUrl}${endpoint.path}`, ca, connections, seconds, beaCookie);
        turns.push({ peer, ours, ratio: ours.rps / peer.rps });
      }
      turns.sort((a, b) => a.ratio - b.ratio);
      const median = turns[Math.floor(turns.length / 2)] as (typeof turns)[number];
      const spread = `${median.ratio.toFixed(2)} (rounds ${turns.map((t) => t.ratio.toFixed(2)).join(', ')})`;
      rows.push(
        row('bare express route, same JSON (peer of the next row)', median.peer, '1.00'),
        row(endpoint.name, median.ours, spread),
      );
    }
    say('\n| endpoint | requests/s | p50 | p99 | ratio to its peer (median round) | errors + non-2xx |');
    say('|---|---|---|---|---|---|');
    for (const line of rows) say(line);
    say('\ngoal: ratio >= 0.5, p99 < 50 ms at 50 connections');
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rm(work, { recursive: true, force: true });
  }
}
