// syncthing's REST calls that read or change something, and how a process without the API key
// asks them (issue 17, point 1): for test/unit/sync/rest-lock.test.ts and test/e2e/security-sync.test.ts.
import * as http from 'node:http';
import { FOLDER_ID } from '../../../src/sync/config.ts';

export interface Target {
  /** host:port, or a unix socket path */
  address: string;
  apiKey: string;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function ask(target: Target, method: string, urlPath: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const unix = target.address.startsWith('/');
    const [host, port] = unix ? ['localhost', undefined] : target.address.split(':');
    const req = http.request({
      method, path: urlPath, headers: { Host: 'localhost', ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}) },
      ...(unix ? { socketPath: target.address } : { host, port: Number(port) }), agent: false, timeout: 10_000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** What a process without the API key can get: syncthing's CSRF cookie and the header it wants with it (1.19 hands out none once auth is on). */
export async function csrfOf(target: Target): Promise<Record<string, string>> {
  const root = await ask(target, 'GET', '/');
  const cookies = ([] as string[]).concat(root.headers['set-cookie'] ?? []);
  const csrf = cookies.map((c) => /^(CSRF-Token-[A-Z0-9]+)=([^;]+)/.exec(c)).find((m) => m);
  if (!csrf) return {};
  return { Cookie: cookies.map((c) => c.split(';')[0]).join('; '), [`X-${csrf[1]}`]: csrf[2]! };
}

export const DEVICE = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';

/** Every kind of REST call that reads or changes something: config (with the API key in it), state, events, files, control. */
export const CALLS: Array<[string, string, string?]> = [
  ['GET', '/rest/config'],
  ['GET', '/rest/system/config'],
  ['GET', '/rest/config/gui'],
  ['GET', '/rest/config/devices'],
  ['GET', '/rest/system/status'],
  ['GET', '/rest/system/version'],
  ['GET', '/rest/system/ping'],
  ['GET', '/rest/system/connections'],
  ['GET', '/rest/system/log'],
  ['GET', '/rest/system/error'],
  ['GET', '/rest/system/discovery'],
  ['GET', '/rest/stats/device'],
  ['GET', '/rest/svc/report'],
  ['GET', '/rest/svc/deviceid?id=x'],
  ['GET', '/rest/events?timeout=1'],
  ['GET', '/rest/events/disk?timeout=1'],
  ['GET', `/rest/db/status?folder=${FOLDER_ID}`],
  ['GET', `/rest/db/browse?folder=${FOLDER_ID}`],
  ['GET', `/rest/db/ignores?folder=${FOLDER_ID}`],
  ['GET', `/rest/db/file?folder=${FOLDER_ID}&file=a`],
  ['GET', `/rest/folder/errors?folder=${FOLDER_ID}`],
  ['GET', '/rest/debug/support'],
  ['POST', '/rest/config/devices', JSON.stringify({ deviceID: DEVICE, name: 'intruder' })],
  ['PUT', `/rest/config/folders/${FOLDER_ID}`, JSON.stringify({ id: FOLDER_ID, path: '/' })],
  ['PATCH', `/rest/config/folders/${FOLDER_ID}`, JSON.stringify({ paused: true })],
  ['PATCH', '/rest/config/gui', JSON.stringify({ user: '', password: '' })],
  ['POST', '/rest/system/config', JSON.stringify({})],
  ['POST', `/rest/db/ignores?folder=${FOLDER_ID}`, JSON.stringify({ ignore: ['*'] })],
  ['POST', `/rest/db/scan?folder=${FOLDER_ID}`],
  ['POST', `/rest/db/revert?folder=${FOLDER_ID}`],
  ['POST', '/rest/system/pause'],
  ['POST', '/rest/system/restart'],
  ['POST', '/rest/system/shutdown'],
];

