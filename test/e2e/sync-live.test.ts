// Sync against the test control plane's REAL node: the dev pod is the product's own pod
// spec (src/core enter: the dev container with busybox, the syncthing sidecar
// `kubectl-dev-sync` from its default image, syncthing 1.29.2, or from an image with
// syncthing 1.19), reached through the API server's port-forward and exec, and the real
// local syncthing run by src/sync. No mocks, no syncthing started by the test. What is in
// "the container" is read in the dev container (it shares the work dir with the sidecar)
// with kubectl exec; what the sidecar says is asked inside the sidecar container (wget to
// its REST API on 127.0.0.1).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enter } from '../../src/core/enter.ts';
import { workloadKindByName } from '../../src/core/kinds.ts';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../../src/core/names.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { SIDECAR_UID, SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT, type DevSettingsInput } from '../../src/core/settings.ts';
import { FOLDER_ID } from '../../src/sync/config.ts';
import { prepareSyncSecret, readSyncState, runSync, stopLocalSync, syncTargetOf, type SyncHandle } from '../../src/sync/index.ts';
import { clientNodeExec, type ExecFn, type ExecSocket } from '../../src/kube/exec.ts';
import { isAlive } from '../../src/sync/process.ts';
import type { DbStatus } from '../../src/sync/rest.ts';
import { readLock, statePaths } from '../../src/sync/state.ts';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { arrivedInContainerAsync, deletePodAndWait, execInAsync, existsIn, podIP, readyPod, sidecarGet, treeIn } from '../support/pods.ts';
import { tempDir, treeOf, until } from '../unit/sync/support.ts';

const deploymentKind = workloadKindByName('deployment')!;
/** syncthing's own files, which are not synced. */
const META = ['.stfolder', '.stignore', '.stversions'];
/** The dev container's work dir (the product's default), which the sidecar's folder is. */
const WORKDIR = '/workspace';
/** The dev container: the original container "app", with an image the real node has. */
const DEV = 'app';
const DEV_IMAGE = 'busybox:1.36';
/** A sidecar image with syncthing 1.19 (before 1.28: uses a new connection at once). */
const OLD_SIDECAR_IMAGE = 'kubectl-dev.test/syncthing:1.19.2';
const debugging = !!process.env.SYNC_DEBUG;
const log = (m: string) => debugging && console.error(`${new Date().toISOString()} ${m}`);

/** A Deployment put in dev mode by the pure rewrite (what `start` or the post-renderer produce). */
function devDeployment(namespace: string, name: string, settings: DevSettingsInput = {}, replicas = 1): KubeObject {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: DEV, image: 'registry.example/web:1' }] } } },
  };
  const [dev] = enter([deployment], { targets: [{ kind: deploymentKind, name }], settings: { image: DEV_IMAGE, ...settings } });
  return dev!;
}

const selectorOf = (name: string) => `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', name)}`;

/** The local tree as it should be in the container: without what is ignored. */
const syncedPart = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith('.git/') && !p.startsWith('node_modules/')));

/** Waits until `actual()` equals `expected`; on timeout, says which paths differ. */
async function untilSameTree(what: string, actual: () => Promise<Record<string, string>>, expected: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  let last: Record<string, string> = {};
  const sorted = (tree: Record<string, string>) => JSON.stringify(Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1)));
  try {
    await until(what, async () => sorted((last = await actual())) === sorted(expected), timeoutMs, 500);
  } catch (error) {
    const keys = [...new Set([...Object.keys(last), ...Object.keys(expected)])].sort();
    const diff = keys.filter((k) => last[k] !== expected[k]).slice(0, 20)
      .map((k) => `${k}: ${k in last ? JSON.stringify(last[k]!.slice(0, 60)) : '(missing)'} vs expected ${k in expected ? JSON.stringify(expected[k]!.slice(0, 60)) : '(none)'}`);
    throw new Error(`${(error as Error).message}; ${keys.length} paths, differing: ${diff.join('; ') }`);
  }
}

/** 'connected', or the error code of a TCP connection to host:port. */
function tcpConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('sync through the API server to the real sidecar of a dev pod on the real node', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  let handle: SyncHandle | undefined;
  let pod: string;

  const remoteTree = () => treeIn(ns, pod, DEV, WORKDIR, META);
  const localTree = () => treeOf(localDir, META);
  const arrived = (rel: string, content: string) => arrivedInContainerAsync(ns, pod, DEV, `${WORKDIR}/${rel}`, content);
  const inDev = async (script: string) => {
    const r = await execInAsync(ns, pod, DEV, ['sh', '-c', script]);
    if (r.code !== 0) throw new Error(`${script} in ${pod}/${DEV}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const sidecarStatus = () => sidecarGet<DbStatus>(ns, pod, `/rest/db/status?folder=${FOLDER_ID}`);

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync'));
    root = tempDir('e2e-sync');
    localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);
    env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    // replicas: 2, which dev mode sets to 1. No Secret: `sync` makes it, as for a workload put in dev mode by the post-renderer.
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: devDeployment(ns, 'web', {}, 2) as k8s.V1Deployment });
  });

  afterAll(async () => {
    await handle?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('creates the Secret for a workload in dev mode without one, connects once the sidecar has it, and delivers the initial tree', async () => {
    // Local content before the sync starts: files, a nested tree, .git and node_modules (ignored).
    fs.writeFileSync(path.join(localDir, 'README.md'), '# web\n');
    fs.mkdirSync(path.join(localDir, 'src', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(localDir, 'src', 'main.ts'), 'console.log(1);\n');
    fs.writeFileSync(path.join(localDir, 'src', 'lib', 'util.ts'), 'export const x = 1;\n');
    fs.mkdirSync(path.join(localDir, '.git', 'objects'), { recursive: true });
    fs.writeFileSync(path.join(localDir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(localDir, 'node_modules', 'left-pad'), { recursive: true });
    fs.writeFileSync(path.join(localDir, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');

    // The dev pod runs (Ready: both containers started) while its sidecar waits for the Secret.
    pod = await readyPod(kc, ns, selectorOf('web'));
    expect((await core.listNamespacedPod({ namespace: ns, labelSelector: selectorOf('web') })).items).toHaveLength(1);
    const events: string[] = [];
    const started = Date.now();
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'web', localDir, ignores: ['node_modules'] }, {
      kc, env, onEvent: (e) => { events.push(e.type === 'state' ? e.status.state : `note: ${e.message}`); log(JSON.stringify(e)); },
      ...(debugging ? { debug: log } : {}),
    });
    // `sync` made the Secret (as for a workload pre-injected by the post-renderer), owned by the Deployment.
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'web'), namespace: ns });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['cert.pem', 'config.xml', 'key.pem', 'local-cert.pem', 'local-key.pem']);
    // Until the kubelet puts the Secret into the running pod and the sidecar's syncthing starts, the sync is connecting.
    await until('connecting', () => handle!.status().state === 'connecting', 10_000);
    await handle.waitInSync(180_000);
    console.log(`in sync ${Date.now() - started} ms after the sync started (the kubelet delivers the new Secret to the running pod meanwhile)`);
    expect(await remoteTree()).toEqual({
      'README.md': '# web\n',
      'src/main.ts': 'console.log(1);\n',
      'src/lib/util.ts': 'export const x = 1;\n',
    });
    expect(await existsIn(ns, pod, DEV, `${WORKDIR}/.git`)).toBe(false);
    expect(await existsIn(ns, pod, DEV, `${WORKDIR}/node_modules`)).toBe(false);
    // The local folder got the managed .stignore (there is a .git) and nothing else from syncthing.
    expect(fs.readFileSync(path.join(localDir, '.stignore'), 'utf8')).toMatch(/^\/\/ Managed by kubectl-dev.*\n\.git\nnode_modules\n$/);
    expect(fs.existsSync(path.join(localDir, '.stfolder'))).toBe(false);
    // The sidecar got the same patterns (asked in the sidecar container itself).
    await until('the sidecar has the ignore patterns', async () => JSON.stringify((await sidecarGet<{ ignore: string[] | null }>(ns, pod, `/rest/db/ignores?folder=${FOLDER_ID}`)).ignore?.filter((l) => !l.startsWith('//'))) === JSON.stringify(['.git', 'node_modules']), 20_000);
    expect(handle.status()).toMatchObject({ state: 'idle', connected: true, pod });
    expect(events).toContain('idle');
    expect(handle.stats().streams).toBeGreaterThan(0);
  });

  it('the sidecar answers on 127.0.0.1 in the pod only: its REST/GUI and sync ports are refused on the pod IP', async () => {
    const ip = await podIP(kc, ns, pod);
    // Inside the pod (the dev container shares its network): the REST API answers on 127.0.0.1.
    expect(JSON.parse(await inDev(`wget -q -O - http://127.0.0.1:${SYNCTHING_API_PORT}/rest/noauth/health`))).toEqual({ status: 'OK' });
    // A control: the host reaches the pod IP (through the node's bridge) — a listener of the dev container on all addresses answers there.
    const control = (await inDev('httpd -f -p 0.0.0.0:8099 -h /tmp </dev/null >/dev/null 2>&1 & echo $!')).trim();
    try {
      await until('the control listener answers on the pod IP', async () => (await tcpConnect(ip, 8099)) === 'connected', 20_000, 200);
      // The sidecar's ports on the pod IP: nothing listens there (syncthing's GUI/REST, despite the image's STGUIADDRESS=0.0.0.0:8384).
      expect(await tcpConnect(ip, SYNCTHING_API_PORT)).toBe('ECONNREFUSED');
      expect(await tcpConnect(ip, SYNCTHING_SYNC_PORT)).toBe('ECONNREFUSED');
      const listening = await execInAsync(ns, pod, 'kubectl-dev-sync', ['netstat', '-ltn']);
      expect(listening.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${SYNCTHING_API_PORT}\\s`));
      expect(listening.stdout).not.toMatch(new RegExp(`(0\\.0\\.0\\.0|:::):${SYNCTHING_API_PORT}\\s`));
    } finally {
      await inDev(`kill ${control}`).catch(() => {});
    }
  });

  it('delivers new, modified and deleted files and a 1,000-file tree', async () => {
    fs.writeFileSync(path.join(localDir, 'new.txt'), 'new\n');
    await arrived('new.txt', 'new\n');
    fs.writeFileSync(path.join(localDir, 'src', 'main.ts'), 'console.log(2);\n');
    await arrived('src/main.ts', 'console.log(2);\n');
    fs.rmSync(path.join(localDir, 'README.md'));
    await until('README.md deleted in the container', async () => !(await existsIn(ns, pod, DEV, `${WORKDIR}/README.md`)), 30_000, 200);

    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(localDir, 'tree', `d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) fs.writeFileSync(path.join(localDir, 'tree', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
    }
    await handle!.waitInSync(120_000);
    const remote = await remoteTree();
    expect(Object.keys(remote).filter((p) => p.startsWith('tree/'))).toHaveLength(1000);
    expect(remote).toEqual(syncedPart(localTree()));
  });

  it('never changes the local folder in send-only mode, whatever happens in the container', async () => {
    const before = treeOf(localDir);
    // Changes made in the dev container, as its user (root in busybox).
    await inDev(`echo 'changed in the container' > ${WORKDIR}/src/main.ts && echo x > ${WORKDIR}/made-in-container.txt && rm ${WORKDIR}/new.txt`);
    // The sidecar notices (its watcher) and records them as its own changes.
    await until('the sidecar sees the container\'s changes', async () => ((await sidecarStatus()).receiveOnlyTotalItems ?? 0) >= 3, 30_000, 250);
    // A later local change still wins in the container. Its round trip over the same connection
    // (after the sidecar recorded the container's changes) is the marker: nothing came back meanwhile.
    fs.writeFileSync(path.join(localDir, 'src', 'main.ts'), 'console.log(3);\n');
    await arrived('src/main.ts', 'console.log(3);\n');
    expect(treeOf(localDir)).toEqual({ ...before, 'src/main.ts': 'console.log(3);\n' });
  });

  it('status from another process: connected and idle, with the session’s pid', async () => {
    await handle!.waitInSync(30_000);
    const target = syncTargetOf(kc, ns, 'Deployment', 'web');
    const state = await readSyncState(target, env);
    expect(state).toMatchObject({ running: true, pid: process.pid, localDir });
    expect(state.status.connected).toBe(true);
    expect(['idle', 'syncing']).toContain(state.status.state);
  });

  it('resumes after the dev pod is deleted and recreated, without losing data', async () => {
    const oldPod = pod;
    // The kubelet stops both containers (the sidecar's syncthing ends on SIGTERM); the ReplicaSet makes a new pod.
    await deletePodAndWait(kc, ns, oldPod);
    // Changes while the old pod is gone.
    fs.writeFileSync(path.join(localDir, 'while-away.txt'), 'written while the pod was gone\n');
    pod = await readyPod(kc, ns, selectorOf('web'), [oldPod]);
    const started = Date.now();
    // New pod: fresh emptyDirs, the sidecar's syncthing started again from the Secret.
    await until('the session on the new pod', () => handle!.status().pod === pod, 60_000);
    await handle!.waitInSync(120_000);
    console.log(`sync resumed ${Date.now() - started} ms after the new dev pod was ready`);
    const expected = syncedPart(localTree());
    await untilSameTree('the new container has the whole tree', remoteTree, expected);
    expect((await remoteTree())['while-away.txt']).toBe('written while the pod was gone\n');
    expect(handle!.status()).toMatchObject({ connected: true, pod });
  });

  // syncthing makes a directory it owns writable before writing into it, so "not writable"
  // needs a directory owned by someone else: the work dir (an emptyDir, root's) made 0555 by root in the dev container.
  it('reports an error when the container’s work dir is not writable', async () => {
    await inDev(`chown 0:0 ${WORKDIR} && chmod 0555 ${WORKDIR}`);
    try {
      fs.writeFileSync(path.join(localDir, 'blocked.txt'), 'cannot land\n');
      await expect(handle!.waitInSync(60_000)).rejects.toMatchObject({ code: 'SYNC_REMOTE_ERROR', message: expect.stringMatching(/blocked\.txt.*permission denied/) });
      await until('error state', () => handle!.status().state === 'error', 10_000);
      expect(handle!.status().lastError).toMatch(/dev container: .*blocked\.txt.*permission denied/);
      const state = await readSyncState(syncTargetOf(kc, ns, 'Deployment', 'web'), env);
      expect(state.status.state).toBe('error');
      expect(state.status.errors.join()).toMatch(/permission denied/);
    } finally {
      await inDev(`chmod 0777 ${WORKDIR}`);
    }
    // Writable again: syncthing retries failed pulls after a pause (60 s and up); restarting the folder retries now.
    await handle!.remote.patchFolder(FOLDER_ID, { paused: true });
    await handle!.remote.patchFolder(FOLDER_ID, { paused: false });
    await arrived('blocked.txt', 'cannot land\n');
    await handle!.waitInSync(30_000);
  });

  it('stops cleanly: syncthing gone, lock released; a second session is refused while one runs', async () => {
    const target = syncTargetOf(kc, ns, 'Deployment', 'web');
    await expect(runSync({ namespace: ns, kind: 'Deployment', name: 'web', localDir }, { kc, env })).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING' });
    const paths = statePaths(env, target);
    expect(fs.statSync(paths.dir).mode & 0o777).toBe(0o700);
    for (const f of ['home/key.pem', 'home/cert.pem', 'home/config.xml', 'session.json', 'sync.lock']) {
      expect(fs.statSync(path.join(paths.dir, f)).mode & 0o777, f).toBe(0o600);
    }
    const syncthingPid = JSON.parse(fs.readFileSync(paths.session, 'utf8')).syncthingPid as number;
    expect(isAlive(syncthingPid)).toBe(true);
    await handle!.stop();
    handle = undefined;
    expect(isAlive(syncthingPid)).toBe(false);
    expect(readLock(paths.lock)).toBeUndefined();
    expect((await readSyncState(target, env)).status.state).toBe('stopped');
    expect(await stopLocalSync(target, env)).toBe(false);
  });
});

describe('sync errors that need no sidecar', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync-err'));
    root = tempDir('e2e-sync-err');
  });
  afterAll(async () => {
    await removeNs?.();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a workload that is not in dev mode, a missing workload, a missing local dir', async () => {
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: 'plain' }, spec: { replicas: 0, selector: { matchLabels: { app: 'p' } }, template: { metadata: { labels: { app: 'p' } }, spec: { containers: [{ name: 'a', image: 'x' }] } } } },
    });
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'plain', localDir: root }, { kc, env })).rejects.toMatchObject({ code: 'SYNC_NOT_IN_DEV_MODE', hint: expect.stringContaining('kubectl dev start deployment/plain') });
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'nope', localDir: root }, { kc, env })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'plain', localDir: path.join(root, 'missing') }, { kc, env })).rejects.toMatchObject({ code: 'SYNC_LOCAL_DIR' });
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'plain', localDir: root, syncthingPath: path.join(root, 'no-syncthing') }, { kc, env })).rejects.toMatchObject({ code: 'SYNCTHING_NOT_FOUND' });
    // Failed attempts leave no lock behind.
    expect(fs.readdirSync(path.join(root, 'config', 'kubectl-dev', 'sync')).flatMap((d) => fs.readdirSync(path.join(root, 'config', 'kubectl-dev', 'sync', d)))).not.toContain('sync.lock');
  });
});

describe('two-way sync', () => {
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

  it('after the initial sync (the laptop wins), changes made in the container come back', async () => {
    kc = testKubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync-2way'));
    root = tempDir('e2e-sync-2way');
    const localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);
    fs.writeFileSync(path.join(localDir, 'main.go'), 'package main\n');
    fs.writeFileSync(path.join(localDir, 'go.mod'), 'module api\n');
    const dev = devDeployment(ns, 'api');
    // The Secret first (as `start` does), so that the sidecar starts with the pod.
    await core.createNamespacedSecret({ namespace: ns, body: prepareSyncSecret({ workload: dev, kind: 'Deployment', namespace: ns }).secret as k8s.V1Secret });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    const pod = await readyPod(kc, ns, selectorOf('api'));
    // Made in the container before the sync: the laptop wins the initial sync, so this goes away.
    await execInAsync(ns, pod, DEV, ['sh', '-c', `echo 'made before the sync' > ${WORKDIR}/stale.txt`]);
    const notes: string[] = [];
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    handle = await runSync({ namespace: ns, kind: 'Deployment', name: 'api', localDir, twoWay: true }, { kc, env, onEvent: (e) => e.type === 'notice' && notes.push(e.message), ...(debugging ? { debug: log } : {}) });
    await handle.waitInSync(90_000);
    await until('two-way mode on', () => notes.some((n) => /two-way/.test(n)), 30_000);
    expect((await sidecarGet<{ type: string }>(ns, pod, `/rest/config/folders/${FOLDER_ID}`)).type).toBe('sendreceive');
    expect((await handle.local.getFolder(FOLDER_ID)).type).toBe('sendreceive');
    await untilSameTree('the container has the laptop\'s tree only', () => treeIn(ns, pod, DEV, WORKDIR, META), { 'go.mod': 'module api\n', 'main.go': 'package main\n' }, 30_000);
    expect(fs.existsSync(path.join(localDir, 'stale.txt'))).toBe(false);
    // Made in the dev container → arrives on the laptop: a new file in a new directory, an edit, a deletion.
    await execInAsync(ns, pod, DEV, ['sh', '-c', `mkdir -p ${WORKDIR}/gen && echo 'package gen // generated' > ${WORKDIR}/gen/api.pb.go && echo 'module api // edited in the container' > ${WORKDIR}/go.mod`]);
    await until('the generated file on the laptop', () => fs.existsSync(path.join(localDir, 'gen', 'api.pb.go')) && fs.readFileSync(path.join(localDir, 'go.mod'), 'utf8').includes('edited'), 30_000, 100);
    expect(fs.readFileSync(path.join(localDir, 'gen', 'api.pb.go'), 'utf8')).toBe('package gen // generated\n');
    expect(fs.readFileSync(path.join(localDir, 'go.mod'), 'utf8')).toBe('module api // edited in the container\n');
    await execInAsync(ns, pod, DEV, ['rm', `${WORKDIR}/gen/api.pb.go`]);
    await until('the deletion on the laptop', () => !fs.existsSync(path.join(localDir, 'gen', 'api.pb.go')), 30_000, 100);
    // And the laptop's changes still go the other way.
    fs.writeFileSync(path.join(localDir, 'main.go'), 'package main\n\nfunc main() {}\n');
    await arrivedInContainerAsync(ns, pod, DEV, `${WORKDIR}/main.go`, 'package main\n\nfunc main() {}\n');
    expect(Object.keys(treeOf(localDir)).filter((p) => p.includes('sync-conflict'))).toEqual([]);

    // Issue 17, point 5: what the container deleted or replaced on the laptop is kept, outside the
    // folder, where the notice says — also after an rm -rf of everything in the container.
    const versions = path.join(statePaths(env, syncTargetOf(kc, ns, 'Deployment', 'api')).dir, 'versions');
    expect(notes.find((n) => /two-way/.test(n))).toContain(`is kept in ${versions}`);
    await execInAsync(ns, pod, DEV, ['sh', '-c', `rm -rf ${WORKDIR}/*`]);
    await until('the laptop\'s files deleted by the container', () => !fs.existsSync(path.join(localDir, 'main.go')) && !fs.existsSync(path.join(localDir, 'go.mod')), 30_000, 100);
    const kept = treeOf(versions);
    // syncthing's names: go.mod → go~YYYYMMDD-HHMMSS.mod, gen/api.pb.go → gen/api.pb~YYYYMMDD-HHMMSS.go
    const keptAs = (name: string) => Object.entries(kept).filter(([p]) => /~\d{8}-\d{6}/.test(p) && p.replace(/~\d{8}-\d{6}/, '') === name).map(([, c]) => c).sort();
    expect(keptAs('go.mod')).toEqual(['module api // edited in the container\n', 'module api\n'].sort());
    expect(keptAs('main.go')).toEqual(['package main\n\nfunc main() {}\n']);
    expect(keptAs('gen/api.pb.go')).toEqual(['package gen // generated\n']);
    // Nothing of it in the synced folder (no .stversions there).
    expect(fs.existsSync(path.join(localDir, '.stversions'))).toBe(false);
  });
});

describe('the initial copy into a new dev pod (tar through exec in the real sidecar)', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  /** The current dev pod of deployment/app (sidecar from the default image: syncthing 1.29.2). */
  let pod: string;
  let handle: SyncHandle | undefined;
  const synced = () => syncedPart(treeOf(localDir, META));
  const remoteTree = (p = pod) => treeIn(ns, p, DEV, WORKDIR, META);
  const allRemote = (p = pod) => treeIn(ns, p, DEV, WORKDIR);
  const hasLocalTree = (p = pod) => untilSameTree('the container has the local tree', () => remoteTree(p), synced());
  const sidecarStatus = (p = pod) => sidecarGet<DbStatus>(ns, p, `/rest/db/status?folder=${FOLDER_ID}`);
  const startSync = async (name: string, extra: { exec?: ExecFn; debug?: (m: string) => void; notes?: string[] } = {}) => {
    await handle?.stop(); // one left running by a test that failed
    handle = undefined;
    return runSync({ namespace: ns, kind: 'deployment', name, localDir, ignores: ['node_modules'] }, {
      kc, env,
      ...(extra.exec ? { exec: extra.exec } : {}),
      debug: (m) => { extra.debug?.(m); log(m); },
      onEvent: (e) => e.type === 'notice' && extra.notes?.push(e.message),
    });
  };
  /** A new dev pod for deployment/app: fresh emptyDirs, a new sidecar with an empty folder. */
  const newPod = async () => {
    await handle?.stop();
    handle = undefined;
    const old = pod;
    await deletePodAndWait(kc, ns, old);
    pod = await readyPod(kc, ns, selectorOf('app'), [old]);
  };
  /** Wraps the product's exec: `change` is applied to the socket of the copy's exec (the `… | tar -x` one) only. */
  const wrapCopyExec = (change: (socket: ExecSocket) => void, command?: (original: string[]) => string[]): ExecFn => {
    const real = clientNodeExec(kc);
    return async (request) => {
      const isCopy = request.command[2]?.includes('| tar -x') ?? false;
      const socket = await real(isCopy && command ? { ...request, command: command(request.command) } : request);
      if (isCopy) change(socket);
      return socket;
    };
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync-seed'));
    root = tempDir('e2e-sync-seed');
    localDir = path.join(root, 'local');
    env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    for (let d = 0; d < 10; d++) {
      fs.mkdirSync(path.join(localDir, 'src', `d${d}`), { recursive: true });
      for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(localDir, 'src', `d${d}`, `f${f}.ts`), `export const v = ${d * 100 + f};\n`);
    }
    fs.writeFileSync(path.join(localDir, 'blob.bin'), Buffer.alloc(3_000_000, 1));
    fs.mkdirSync(path.join(localDir, 'node_modules', 'dep'), { recursive: true });
    fs.writeFileSync(path.join(localDir, 'node_modules', 'dep', 'index.js'), 'ignored\n');
    fs.mkdirSync(path.join(localDir, '.git'));
    fs.writeFileSync(path.join(localDir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    // deployment/app with the default sidecar image, deployment/old with syncthing 1.19 as the sidecar
    // (--sidecar-image); each with its Secret created first, as `start` does.
    for (const [name, settings] of [['app', {}], ['old', { sidecarImage: OLD_SIDECAR_IMAGE }]] as const) {
      const dev = devDeployment(ns, name, settings);
      await core.createNamespacedSecret({ namespace: ns, body: prepareSyncSecret({ workload: dev, kind: 'Deployment', namespace: ns }).secret as k8s.V1Secret });
      await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    }
    pod = await readyPod(kc, ns, selectorOf('app'));
  });

  afterAll(async () => {
    await handle?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('copies the tree with tar, after which syncthing only records it and takes over', async () => {
    const debug: string[] = [];
    const notes: string[] = [];
    handle = await startSync('app', { debug: (m) => debug.push(m), notes });
    await handle.waitInSync(90_000);
    expect(debug.join('\n')).toMatch(/initial copy: 301 files, 3\.\d MB/);
    // Over v4, which the API server passes through to the kubelet instead of translating it to SPDY.
    expect(debug.join('\n')).toMatch(new RegExp(`initial copy: exec in ${pod}/kubectl-dev-sync connected \\(v4\\.channel\\.k8s\\.io\\)`));
    expect(notes.join('\n')).not.toMatch(/did not complete/);
    expect(await remoteTree()).toEqual(synced());
    expect(await existsIn(ns, pod, DEV, `${WORKDIR}/node_modules`)).toBe(false);
    expect(await existsIn(ns, pod, DEV, `${WORKDIR}/.git`)).toBe(false);
    // Written by the sidecar's user, as syncthing's own files are.
    expect((await execInAsync(ns, pod, DEV, ['stat', '-c', '%u', `${WORKDIR}/src/d3/f7.ts`])).stdout.trim()).toBe(String(SIDECAR_UID));
    // The sidecar holds them as received from the laptop, not as changes made in the container.
    expect(await sidecarStatus()).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0, localFiles: 301 });
    // And syncthing carries on: a change after the copy arrives.
    fs.writeFileSync(path.join(localDir, 'src', 'd3', 'f7.ts'), 'export const v = -1;\n');
    await arrivedInContainerAsync(ns, pod, DEV, `${WORKDIR}/src/d3/f7.ts`, 'export const v = -1;\n');
    await handle.stop();
    handle = undefined;
  });

  it('a sidecar that already has the files gets no copy; a copy that fails is undone and syncthing copies everything', async () => {
    // Same pod, same sidecar: its folder is not empty any more.
    let debug: string[] = [];
    handle = await startSync('app', { debug: (m) => debug.push(m) });
    await handle.waitInSync(60_000);
    expect(debug.join('\n')).toMatch(/initial copy skipped: the sidecar's folder is idle, 301 local/);

    // A new dev pod (fresh work dir) whose tar fails half way, 2 s after writing part of
    // the tree (time for the sidecar to notice those files before they are removed again).
    await newPod();
    // The product's own command, with tar fed only the stream's first 200 kB and the pipeline ending with status 2 after 2 s.
    const failing = wrapCopyExec(() => {}, (cmd) => {
      const script = cmd[2]!.replace(/dd [^|]*\|/, 'head -c 200000 |').replace(/tar -x -o -f - -C "\$1"/, '{ tar -x -o -f - -C "$1"; sleep 2; exit 2; }');
      expect(script).toMatch(/head -c 200000 \| \{ tar -x .*; sleep 2; exit 2; \}/);
      return [cmd[0]!, cmd[1]!, script, ...cmd.slice(3)];
    });
    let partial: Record<string, string> = {};
    debug = [];
    const notes: string[] = [];
    handle = await startSync('app', { exec: failing, notes, debug: (m) => debug.push(m) });
    // While the failed copy's tar sleeps: part of the tree is in the container.
    await until('part of the tree in the container', async () => {
      partial = await remoteTree().catch(() => ({}));
      return Object.keys(partial).length > 0 || notes.length > 0;
    }, 30_000, 100);
    await handle.waitInSync(120_000);
    // tar's exit status, or only the stream closing when the API server or the kubelet drops it first (stdin of a dead process).
    expect(notes.join('\n')).toMatch(/initial copy of 301 files .* did not complete \((tar .*exit code 2|the exec stream closed).*\); syncthing copies them instead/);
    console.log(`the failed copy had written ${Object.keys(partial).length} files`);
    await hasLocalTree();
    // No conflict copies of half-written files: what the copy wrote was removed before syncthing started.
    expect(Object.keys(await allRemote()).filter((p) => p.includes('sync-conflict'))).toEqual([]);
    expect(await sidecarStatus()).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0 });
  });

  it('keeps its REST connection to the sidecar while the copy runs (the sidecar is paused on purpose, not gone)', async () => {
    await newPod();
    // A slow copy (every frame held back 1 s): the session's monitor runs at least twice meanwhile.
    const slow = wrapCopyExec((socket) => {
      const send = socket.send.bind(socket);
      socket.send = (data, done) => void setTimeout(() => send(data, done), 1_000);
    });
    const debug: string[] = [];
    handle = await startSync('app', { exec: slow, debug: (m) => debug.push(m) });
    await handle.waitInSync(90_000);
    const from = debug.findIndex((m) => /initial copy of \d+ files starts/.test(m));
    const to = debug.findIndex((m) => /initial copy: \d+ files, .* in (\d+) ms/.test(m));
    expect(from).toBeGreaterThan(-1);
    expect(to).toBeGreaterThan(from);
    expect(Number(/in (\d+) ms/.exec(debug[to]!)![1])).toBeGreaterThan(2_000);
    // Dropping the REST connections (as for a sidecar that went away) would open new streams
    // to port 8384, and cut a scan asked for meanwhile short here while it runs on there.
    expect(debug.slice(from, to).filter((m) => /port 8384: stream/.test(m))).toEqual([]);
    expect(debug.join('\n')).not.toMatch(/a scan of the sidecar failed/);
    expect(debug[to]).toMatch(/\(\d+ scans of the sidecar meanwhile\)/);
    await hasLocalTree();
  });

  it('with the default sidecar image (syncthing 1.28+), connects while the copy runs and holds the local index back until the sidecar scans the copy', async () => {
    await newPod();
    expect((await sidecarGet<{ version: string }>(ns, pod, '/rest/system/version')).version).toMatch(/^v1\.(2[89]|[3-9]\d)\./);
    // The copy's frames wait until the test has seen the connection (the local scan ends
    // long before): the copy cannot end first, whatever the timing.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = wrapCopyExec((socket) => {
      const send = socket.send.bind(socket);
      socket.send = (data, done) => void released.then(() => send(data, done));
    });
    const debug: string[] = [];
    handle = await startSync('app', { exec: held, debug: (m) => debug.push(m) });
    const sync = handle;
    try {
      await until('connected to the sidecar', async () => (await sync.local.connections()).connections[sync.material.sidecarDeviceId]?.connected === true, 30_000);
      // Connected while the copy runs (syncthing 1.28+ uses a connection only a second after
      // it came up), but the sidecar has no file of the local index: no pull can race the copy.
      expect(debug.join('\n')).toMatch(/local scan done: connecting to the sidecar/);
      // The marker: the sidecar has processed the local device's cluster config (after which an
      // index would follow at once); the local folder is still paused, and the sidecar has no file.
      await until('the sidecar received the local cluster config', async () =>
        (await sidecarGet<{ data: { device: string } }[]>(ns, pod, '/rest/events?events=ClusterConfigReceived&since=0&timeout=1'))
          .some((e) => e.data.device === sync.material.localDeviceId), 30_000, 250);
      expect((await sync.local.getFolder(FOLDER_ID)).paused).toBe(true);
      expect((await sidecarStatus()).globalFiles).toBe(0);
      expect((await sync.refresh()).state).toBe('syncing');
    } finally {
      release();
    }
    await sync.waitInSync(90_000);
    expect(debug.join('\n')).toMatch(/initial copy: \d+ files, .* in \d+ ms/);
    await hasLocalTree();
    expect(Object.keys(await allRemote()).filter((p) => p.includes('sync-conflict'))).toEqual([]);
    expect(await sidecarStatus()).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0 });
    await sync.stop();
    handle = undefined;
  });

  it('with an older syncthing as the sidecar (--sidecar-image with syncthing 1.19), copies and connects only when its last scan runs', async () => {
    const oldPod = await readyPod(kc, ns, selectorOf('old'));
    expect((await sidecarGet<{ version: string }>(ns, oldPod, '/rest/system/version')).version).toMatch(/^v1\.19\./);
    const debug: string[] = [];
    handle = await startSync('old', { debug: (m) => debug.push(m) });
    await handle.waitInSync(90_000);
    expect(debug.join('\n')).toMatch(/the sidecar's syncthing v1\.19\.\d+\S* uses a connection at once/);
    expect(debug.join('\n')).not.toMatch(/local scan done: connecting/);
    expect(debug.join('\n')).toMatch(/initial copy: 301 files, 3\.\d MB/);
    await hasLocalTree(oldPod);
    expect(await sidecarStatus(oldPod)).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0, localFiles: 301 });
    await handle.stop();
    handle = undefined;
  });

  it('a file edited while the copy runs is removed from the container again, and syncthing sends it', async () => {
    await newPod();
    const edited = 'export const v = "edited while the copy ran";\n';
    // The stream's length is its first frame, sent once the copy is planned: the edit comes
    // after the plan, before tar reads the file.
    const editing = wrapCopyExec((socket) => {
      const send = socket.send.bind(socket);
      let planned = false;
      socket.send = (data, done) => {
        if (!planned) fs.writeFileSync(path.join(localDir, 'src', 'd0', 'f0.ts'), edited);
        planned = true;
        send(data, done);
      };
    });
    const debug: string[] = [];
    handle = await startSync('app', { exec: editing, debug: (m) => debug.push(m) });
    await handle.waitInSync(90_000);
    expect(debug.join('\n')).toMatch(/initial copy: 1 file\(s\) changed while being copied, removed again/);
    await arrivedInContainerAsync(ns, pod, DEV, `${WORKDIR}/src/d0/f0.ts`, edited);
    await hasLocalTree();
    // Received from the laptop, not kept as a change made in the container.
    expect(await sidecarStatus()).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0 });
  });
});
