import { request } from 'node:https';

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions inspect arbitrary JSON
  text: string;
}

/** A tiny HTTPS client for tests: trusts only the given CA, sends and parses JSON. */
export function httpsJson(
  url: string,
  options: {
    ca: string;
    method?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
    cert?: string;
    key?: string;
    passphrase?: string;
  },
): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        passphrase: options.passphrase,
        agent: false,
        headers: {
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
            : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** The session cookie from a login response, ready for a Cookie header. */
export function sessionCookie(response: JsonResponse): string {
  const cookies = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
  const session = cookies.find((cookie) => cookie.startsWith('__Host-session='));
  if (!session) throw new Error(`no session cookie in ${JSON.stringify(response.headers)}`);
  return session.split(';')[0] ?? '';
}
