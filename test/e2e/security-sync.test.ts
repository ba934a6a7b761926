// Issue 17, point 1, on the test cluster's real node, with the product's own dev pod (the
// sidecar from the default image, syncthing 1.29.2 with the official image's environment) and
// the real local syncthing run by src/sync: no GUI/REST endpoint kubectl-dev starts answers a
// call without the API key — with or without the CSRF cookie syncthing hands to any GET of "/",
// with or without a guessed basic-auth password — neither inside the pod (from another container
// of the pod), nor through the laptop's port-forward listener to it, nor the laptop's own
// syncthing, which listens on a unix socket in the 0700 state dir and on no TCP port at all.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enter } from '../../src/core/enter.ts';
import { workloadKindByName } from '../../src/core/kinds.ts';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { SYNCTHING_API_PORT } from '../../src/core/settings.ts';
import { prepareSyncSecret, runSync, type SyncHandle } from '../../src/sync/index.ts';
import { clientNodeExec, type ExecFn, type ExecSocket } from '../../src/kube/exec.ts';
import { readSession, statePaths } from '../../src/sync/state.ts';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { execInAsync, readyPod } from '../support/pods.ts';
import { ask, CALLS, csrfOf, type Target } from '../unit/sync/rest-calls.ts';
import { tempDir } from '../unit/sync/support.ts';

const DEV = 'app';
const BASIC = `Basic ${Buffer.from('kubectl-dev:password').toString('base64')}`;

/** Each call as a raw HTTP/1.0 request, with `headers`. */
function rawRequest(method: string, urlPath: string, headers: Record<string, string>, body?: string): string {
  const lines = [`${method} ${urlPath} HTTP/1.0`, 'Host: localhost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ...(body !== undefined ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : [])];
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

/** A sh script for busybox in the dev container: every request to the sidecar's REST port on 127.0.0.1, one status line each. */
function ncScript(requests: string[]): string {
  return requests.map((r) => {
    const escaped = r.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/%/g, '%%');
    if (escaped.includes("'")) throw new Error('no quotes in requests');
    return `printf '${escaped}' | nc 127.0.0.1 ${SYNCTHING_API_PORT} | head -n 1 | tr -d '\\r'`;
  }).join('\n');
}

/** TCP sockets in LISTEN state held by processes whose command line names `needle`. */
function tcpListenersOf(needle: string): string[] {
  const inodes = new Set<string>();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) continue;
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
    } catch {
      /* gone */
    }
  }
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9] ?? '')) out.push(`${table} ${f[1]}`);
    }
  }
  return out;
}

describe('syncthing\'s REST APIs are locked, in the pod and on the laptop (real node)', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let env: NodeJS.ProcessEnv;
  let handle: SyncHandle | undefined;
  let pod: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sec-sync'));
    root = tempDir('e2e-sec-sync');
    const localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);
    fs.writeFileSync(path.join(localDir, 'main.txt'), 'hello\n');
    env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    const deployment: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: DEV, image: 'registry.example/web:1' }] } } },
    };
    const [dev] = enter([deployment], { targets: [{ kind: workloadKindByName('deployment')!, name: 'web' }], settings: { image: 'busybox:1.36' } });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: ns, body: prepareSyncSecret({ workload: dev!, kind: 'Deployment', namespace: ns }).secret as k8s.V1Secret });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    pod = await readyPod(kc, ns, `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'web')}`);
    handle = await runSync({ namespace: ns, kind: 'Deployment', name: 'web', localDir }, { kc, env });
    await handle.waitInSync(90_000);
  }, 300_000);

  afterAll(async () => {
    await handle?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('inside the pod (another container of it): every call without the API key gets 401 or 403, with or without the CSRF cookie', async () => {
    const first = await execInAsync(ns, pod, DEV, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' | nc 127.0.0.1 ${SYNCTHING_API_PORT} | tr -d '\\r' | grep -i '^set-cookie:' || true`]);
    expect(first.code, first.stderr).toBe(0);
    const cookie = /Set-Cookie: (CSRF-Token-[A-Z0-9]+)=([^;\s]+)/i.exec(first.stdout);
    // syncthing 1.29 serves the GUI's page (and its CSRF cookie) without auth: the cookie is there to try.
    expect(cookie, first.stdout).not.toBeNull();
    const withCookie = { Cookie: `${cookie![1]}=${cookie![2]}`, [`X-${cookie![1]}`]: cookie![2]! };
    const ways: Array<[string, Record<string, string>]> = [['nothing', {}], ['the CSRF cookie', withCookie], ['basic auth', { ...withCookie, Authorization: BASIC }]];
    const asked = ways.flatMap(([how, headers]) => CALLS.map(([method, urlPath, body]) => ({ what: `${method} ${urlPath} with ${how}`, raw: rawRequest(method, urlPath, headers, body) })));
    const r = await execInAsync(ns, pod, DEV, ['sh', '-c', ncScript(asked.map((a) => a.raw))], undefined, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const statuses = r.stdout.split('\n').filter((l) => l !== '');
    expect(statuses).toHaveLength(asked.length);
    const through = asked.map((a, i) => `${a.what}: ${statuses[i]}`).filter((l) => !/ 40[13] /.test(l));
    expect(through).toEqual([]);
    // With the key (the config the sidecar runs with) the same API answers.
    const key = /<apikey>([^<]+)<\/apikey>/.exec((await execInAsync(ns, pod, 'kubectl-dev-sync', ['cat', '/var/kubectl-dev/syncthing/config.xml'])).stdout)![1]!;
    const ok = await execInAsync(ns, pod, DEV, ['sh', '-c', ncScript([rawRequest('GET', '/rest/system/status', { 'X-API-Key': key })])]);
    expect(ok.stdout.trim()).toMatch(/^HTTP\/1\.[01] 200 /);
  }, 180_000);

  it('through the laptop\'s port-forward listener to the sidecar (127.0.0.1, open to every local user): no call without the API key', async () => {
    const session = readSession(statePaths(env, handle!.target).session)!;
    const url = new URL(session.remoteApi!.url);
    const target: Target = { address: `${url.hostname}:${url.port}`, apiKey: session.remoteApi!.apiKey };
    const csrf = await csrfOf(target);
    const through: string[] = [];
    for (const [how, headers] of [['nothing', {}], ['the CSRF cookie', csrf], ['basic auth', { ...csrf, Authorization: BASIC }]] as const) {
      for (const [method, urlPath, body] of CALLS) {
        const status = (await ask(target, method, urlPath, headers, body)).status;
        if (status !== 401 && status !== 403) through.push(`${method} ${urlPath} with ${how}: ${status}`);
      }
    }
    expect(through).toEqual([]);
    expect((await ask(target, 'GET', '/rest/system/status', { 'X-API-Key': target.apiKey })).status).toBe(200);
  }, 180_000);

  it('the laptop\'s syncthing: a unix socket in the 0700 state dir, no TCP listener, nothing without the API key, and another user cannot connect', async () => {
    const paths = statePaths(env, handle!.target);
    const session = readSession(paths.session)!;
    expect(session.localApi.url).toBe(`unix:${path.join(paths.dir, 'gui.sock')}`);
    const socket = session.localApi.url.slice('unix:'.length);
    expect(fs.statSync(socket).isSocket()).toBe(true);
    expect(fs.statSync(paths.dir).mode & 0o777).toBe(0o700);
    // Before, syncthing's GUI took a TCP port on 127.0.0.1 that kubectl-dev had picked free and released first.
    expect(tcpListenersOf(paths.home)).toEqual([]);
    const target: Target = { address: socket, apiKey: session.localApi.apiKey };
    const csrf = await csrfOf(target);
    const through: string[] = [];
    for (const [how, headers] of [['nothing', {}], ['the CSRF cookie', csrf]] as const) {
      for (const [method, urlPath, body] of CALLS) {
        if (/shutdown|restart/.test(urlPath)) continue;
        const status = (await ask(target, method, urlPath, headers, body)).status;
        if (status !== 401 && status !== 403) through.push(`${method} ${urlPath} with ${how}: ${status}`);
      }
    }
    expect(through).toEqual([]);
    expect((await ask(target, 'GET', '/rest/system/status', { 'X-API-Key': target.apiKey })).status).toBe(200);
    const script = `require('node:net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const other = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(other.stdout.trim()).toBe('EACCES');
  }, 120_000);
});

// Issue 17, point 4, on the real node: a file and a directory of the local tree swapped for links
// to files outside it once the initial copy has listed the tree and starts sending (its first
// frame, the stream's length): nothing of the link targets reaches the container.
describe('the initial copy into the real sidecar never follows a link swapped in while it runs', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let handle: SyncHandle | undefined;

  afterAll(async () => {
    await handle?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('a file and a directory swapped for links during the copy: their targets\' bytes never reach the container', async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sec-copy'));
    root = tempDir('e2e-sec-copy');
    const localDir = path.join(root, 'local');
    const outside = path.join(root, 'outside');
    fs.mkdirSync(path.join(localDir, 'zz-dir'), { recursive: true });
    fs.mkdirSync(outside);
    const SECRET = 'SECRET-OUTSIDE-THE-TREE';
    // A big file first, so that the swapped entries are read well after the swap.
    fs.writeFileSync(path.join(localDir, 'a-big.bin'), Buffer.alloc(32 * 2 ** 20, 0x61));
    fs.writeFileSync(path.join(localDir, 'z-file.txt'), 'this file is in the tree\n');
    fs.writeFileSync(path.join(localDir, 'zz-dir', 'x.txt'), 'this file is in the tree too\n');
    // The targets have the sizes and mtimes of the files they replace (what an attacker would arrange):
    // the old copy, which compared only those, sent their bytes and kept them in the container.
    for (const [target, original] of [['z-file.txt', 'z-file.txt'], ['x.txt', 'zz-dir/x.txt']] as const) {
      const size = fs.statSync(path.join(localDir, original)).size;
      fs.writeFileSync(path.join(outside, target), `${SECRET}${'!'.repeat(64)}`.slice(0, size - 1) + '\n');
      const { atime, mtime } = fs.statSync(path.join(localDir, original));
      fs.utimesSync(path.join(outside, target), atime, mtime);
    }
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    const deployment: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'copy', namespace: ns },
      spec: { selector: { matchLabels: { app: 'copy' } }, template: { metadata: { labels: { app: 'copy' } }, spec: { containers: [{ name: DEV, image: 'registry.example/web:1' }] } } },
    };
    const [dev] = enter([deployment], { targets: [{ kind: workloadKindByName('deployment')!, name: 'copy' }], settings: { image: 'busybox:1.36' } });
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: ns, body: prepareSyncSecret({ workload: dev!, kind: 'Deployment', namespace: ns }).secret as k8s.V1Secret });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    const pod = await readyPod(kc, ns, `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'copy')}`);
    let swapped = false;
    let leaked = false;
    let tail = Buffer.alloc(0);
    const real = clientNodeExec(kc);
    const swapping: ExecFn = async (request) => {
      const socket = await real(request);
      if (request.command[2]?.includes('| tar -x')) {
        const send = socket.send.bind(socket);
        socket.send = (data, done) => {
          if (!swapped) {
            // The tree is listed and planned (the first frame is the stream's length): swap now.
            swapped = true;
            fs.rmSync(path.join(localDir, 'z-file.txt'));
            fs.symlinkSync(path.join(outside, 'z-file.txt'), path.join(localDir, 'z-file.txt'));
            fs.renameSync(path.join(localDir, 'zz-dir'), path.join(root, 'zz-dir.moved'));
            fs.symlinkSync(outside, path.join(localDir, 'zz-dir'));
          }
          // What goes over the wire (with the end of the previous frame: a match across two frames counts too).
          leaked ||= Buffer.concat([tail, data]).includes(SECRET);
          tail = Buffer.from(data.subarray(Math.max(0, data.length - SECRET.length)));
          send(data, done);
        };
      }
      return socket;
    };
    const debug: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'Deployment', name: 'copy', localDir }, { kc, env, exec: swapping, debug: (m) => debug.push(m) });
    await handle.waitInSync(120_000);
    expect(swapped).toBe(true);
    expect(leaked).toBe(false);
    expect(debug.join('\n')).toMatch(/initial copy: 3 files, .* in \d+ ms/);
    // z-file.txt, zz-dir and zz-dir/x.txt: sent as zeros, then removed for syncthing to send as it finds them.
    expect(debug.join('\n')).toMatch(/initial copy: 3 file\(s\) changed while being copied, removed again/);
    // Nothing of the targets anywhere in the work dir (syncthing syncs the links as links, which it never follows either).
    const found = await execInAsync(ns, pod, DEV, ['sh', '-c', `grep -r -l '${SECRET}' /workspace; echo "exit $?"`]);
    expect(found.stdout.trim()).toBe('exit 1');
    expect((await execInAsync(ns, pod, DEV, ['cat', '/workspace/a-big.bin'])).raw.length).toBe(32 * 2 ** 20);
  }, 240_000);
});
