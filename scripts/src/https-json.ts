import { request } from 'node:https';

/** What the demo and the benchmarks read of an API answer. */
export interface ApiReply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- callers read a few fields of API JSON
  body: Record<string, any>;
  /** the `__Host-session` cookie, ready for a Cookie header, when the answer set one */
  cookie?: string;
}

/** Calls the controller's API over HTTPS trusting only the given CA, with an optional session. */
export function callApi(url: string, ca: string, method = 'GET', body?: unknown, cookie?: string): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { ...(payload ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) };
    const req = request(url, { method, ca, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        const session = ([] as string[])
          .concat(res.headers['set-cookie'] ?? [])
          .find((c) => c.startsWith('__Host-session='));
        resolve({
          status: res.statusCode ?? 0,
          body: text ? (JSON.parse(text) as ApiReply['body']) : {},
          ...(session ? { cookie: session.split(';')[0] } : {}),
        });
      });
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * Logs in with a one-time password and replaces it with `newPassword`, as every new user
 * must before the API opens to them; returns the session cookie.
 */
export async function firstLogin(
  api: string,
  ca: string,
  email: string,
  oneTimePassword: string,
  newPassword: string,
): Promise<string> {
  const login = await callApi(`${api}/auth/login`, ca, 'POST', { email, password: oneTimePassword });
  if (login.status !== 200 || !login.cookie) throw new Error(`login as ${email} failed: HTTP ${login.status}`);
  const changed = await callApi(
    `${api}/auth/password`,
    ca,
    'POST',
    { currentPassword: oneTimePassword, newPassword },
    login.cookie,
  );
  if (changed.status !== 204) throw new Error(`password change for ${email} failed: HTTP ${changed.status}`);
  return login.cookie;
}
