import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initDevInstall, loadControllerConfig, startController } from '@sovereign/controller';
import { report, say } from './demo-output.js';
import { callApi as call, firstLogin } from './https-json.js';

/**
 * Demo step 6: the controller. A development install (the installer will replace it),
 * the controller started on loopback, a customer org onboarded by the platform admin,
 * and the tenant's admin logging in to create a workspace. With `serve`, it keeps
 * running so that a person can use the printed URL and credentials.
 */
export async function demoController(workDir: string, serve: boolean): Promise<boolean> {
  say('\n6. Controller: development install, HTTPS API on loopback, a customer org onboarded');
  const install = await initDevInstall(join(workDir, 'controller'), {
    apiPort: serve ? 8443 : 0,
    internalPort: serve ? 8444 : 0,
    // a demo has no key custodians: the shares sit beside the vault, flagged unsafe in the config
    devAutoUnseal: true,
  });
  const config = await loadControllerConfig(join(workDir, 'controller'));
  // Only errors while the demo talks (it reports each step itself); a served controller logs as usual.
  const controller = await startController(join(workDir, 'controller'), {
    ...config,
    logLevel: serve ? 'info' : 'error',
  });
  let ok = true;
  try {
    const ca = await readFile(install.caCert, 'utf8');
    const api = `${controller.apiUrl}/api/v1`;
    const seal = await call(`${api}/sys/seal-status`, ca);
    ok =
      report(
        'vault unsealed',
        seal.body.sealed === false,
        `${seal.body.threshold} of ${seal.body.shares} shares (development auto-unseal; custodians enter them in production)`,
      ) && ok;
    // New users hold one-time passwords and must set their own before the API opens.
    const adminPassword = randomBytes(15).toString('base64url');
    const admin = await firstLogin(api, ca, install.adminEmail, install.adminPassword, adminPassword).then(
      (cookie) => ({ ok: true as const, cookie }),
      (error: Error) => ({ ok: false as const, cookie: undefined, reason: error.message }),
    );
    ok =
      report(
        'platform admin logs in, sets a password',
        admin.ok,
        admin.ok ? `as ${install.adminEmail}` : admin.reason,
      ) && ok;
    const onboarded = await call(
      `${api}/orgs`,
      ca,
      'POST',
      { name: 'Acme Research', admin: { firstName: 'Alice', lastName: 'Ng', email: 'alice@acme.example' } },
      admin.cookie,
    );
    ok =
      report(
        'onboard customer org',
        onboarded.status === 201,
        `HTTP ${onboarded.status} ${onboarded.body.org?.name ?? ''} ${onboarded.body.org?.id ?? ''}`,
      ) && ok;
    const tenantPassword = randomBytes(15).toString('base64url');
    const aliceCookie = await firstLogin(
      api,
      ca,
      'alice@acme.example',
      String(onboarded.body.admin?.oneTimePassword ?? ''),
      tenantPassword,
    );
    const workspace = await call(
      `${api}/orgs/${onboarded.body.org?.id}/workspaces`,
      ca,
      'POST',
      { name: 'vision-research' },
      aliceCookie,
    );
    ok =
      report(
        'tenant admin creates a workspace',
        workspace.status === 201,
        `HTTP ${workspace.status} ${workspace.body.name ?? ''}`,
      ) && ok;
    const catalog = await call(`${api}/catalog?org=${onboarded.body.org?.id}`, ca, 'GET', undefined, aliceCookie);
    const sizes = (catalog.body.computeProfiles ?? []) as { name: string }[];
    ok =
      report(
        'tenant sees the catalog',
        catalog.status === 200 && sizes.length >= 5,
        `${sizes.map((profile) => profile.name).join(', ')}; ${catalog.body.serviceProfiles?.length ?? 0} service profiles`,
      ) && ok;
    const small = (catalog.body.computeProfiles ?? []).find((profile: { slug: string }) => profile.slug === 'small');
    const instances = `${api}/orgs/${onboarded.body.org?.id}/workspaces/${workspace.body.id}/compute-instances`;
    const launched = await call(instances, ca, 'POST', { name: 'resnet-train', profileId: small?.id }, aliceCookie);
    const instance = await untilSettled(`${instances}/${launched.body.id}`, ca, aliceCookie);
    ok =
      report(
        'tenant launches a Small instance',
        launched.status === 201 && instance.phase === 'Ready',
        `${instance.transitions?.map((t: { to: string }) => t.to).join(' → ') ?? `HTTP ${launched.status}`} (test driver)`,
      ) && ok;
    const trail = await call(`${api}/audit?limit=500`, ca, 'GET', undefined, admin.cookie);
    ok =
      report(
        'audit trail records every change',
        trail.status === 200 && Array.isArray(trail.body.items) && trail.body.items.length >= 5,
        `${trail.body.items?.length ?? 0} records, newest: ${trail.body.items?.[0]?.action ?? '-'}`,
      ) && ok;
    say(
      `\n   API:            ${controller.apiUrl}  (OpenAPI: ${controller.apiUrl}/api/v1/openapi.json; the portal comes later)`,
    );
    say(`   CA certificate: ${install.caCert}`);
    say(`   platform admin: ${install.adminEmail} / ${adminPassword}`);
    say(`   tenant admin:   alice@acme.example / ${tenantPassword}`);
    if (serve) {
      say('\n   Serving until Ctrl-C.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await controller.stop();
  }
  return ok;
}

/** Polls an instance until it stops changing phase on its own (Ready, Stopped, Failed or Deleted), for 30 s at most. */
async function untilSettled(url: string, ca: string, cookie: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await call(url, ca, 'GET', undefined, cookie);
    if (['Ready', 'Stopped', 'Failed', 'Deleted'].includes(reply.body.phase) || Date.now() > deadline)
      return reply.body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
