// Sync against the test control plane, with a real syncthing as the sidecar
// (test/e2e/sync-sidecar.ts) reached through the API server and a KWOK
// PortForward, and the real local syncthing run by src/sync. No mocks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enter } from '../../src/core/enter.ts';
import { workloadKindByName } from '../../src/core/kinds.ts';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../../src/core/names.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { FOLDER_ID } from '../../src/sync/config.ts';
import { prepareSyncSecret, readSyncState, runSync, stopLocalSync, syncTargetOf, type SyncHandle } from '../../src/sync/index.ts';
import { clientNodeExec, type ExecFn, type ExecSocket } from '../../src/sync/seed.ts';
import { SIDECAR_UID } from '../../src/core/settings.ts';
import { isAlive } from '../../src/sync/process.ts';
import { readLock, statePaths } from '../../src/sync/state.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { tempDir, treeOf, until } from '../unit/sync/support.ts';
import { sidecarSyncthingBinary } from '../tools/syncthing.ts';
import { emptyDir, startFakeSidecar, type FakeSidecar, arrivedIn } from './sync-sidecar.ts';

const deploymentKind = workloadKindByName('deployment')!;
const isRoot = process.getuid?.() === 0;
/** syncthing's own files, which are not synced. */
const META = ['.stfolder', '.stignore', '.stversions'];

describe('sync through the API server to a real syncthing sidecar', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let localDir: string;
  let remoteDir: string;
  let env: NodeJS.ProcessEnv;
  let handle: SyncHandle | undefined;
  let sidecar: FakeSidecar | undefined;

  const devPod = async (not?: string) =>
    waitFor('a Running dev pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'web')}` });
      return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.name !== not)?.metadata?.name;
    }, 60_000);

  const remoteTree = () => treeOf(remoteDir, META);
  const localTree = () => treeOf(localDir, META);
  const arrived = (rel: string, content: string) => arrivedIn(remoteDir, rel, content);

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync'));
    root = tempDir('e2e-sync');
    fs.chmodSync(root, 0o755);
    localDir = path.join(root, 'local');
    remoteDir = path.join(root, 'workspace'); // the dev container's work dir (the sidecar's folder)
    fs.mkdirSync(localDir);
    env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };

    // A small Deployment put in dev mode by the pure rewrite (what `start` or the post-renderer produce), work dir = remoteDir.
    const deployment: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] } } },
    };
    const [dev] = enter([deployment], { targets: [{ kind: deploymentKind, name: 'web' }], settings: { workdir: remoteDir } });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
  });

  afterAll(async () => {
    await handle?.stop();
    await sidecar?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('creates the Secret for a workload in dev mode without one, connects, and delivers the initial tree', async () => {
    // Local content before the sync starts: files, a nested tree, .git and node_modules (ignored).
    fs.writeFileSync(path.join(localDir, 'README.md'), '# web\n');
    fs.mkdirSync(path.join(localDir, 'src', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(localDir, 'src', 'main.ts'), 'console.log(1);\n');
    fs.writeFileSync(path.join(localDir, 'src', 'lib', 'util.ts'), 'export const x = 1;\n');
    fs.mkdirSync(path.join(localDir, '.git', 'objects'), { recursive: true });
    fs.writeFileSync(path.join(localDir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(localDir, 'node_modules', 'left-pad'), { recursive: true });
    fs.writeFileSync(path.join(localDir, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');

    const pod = await devPod();
    const events: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'web', localDir, ignores: ['node_modules'] }, {
      kc, env, onEvent: (e) => { events.push(e.type === 'state' ? e.status.state : `note: ${e.message}`); if (process.env.SYNC_DEBUG) console.error(new Date().toISOString(), JSON.stringify(e)); },
      ...(process.env.SYNC_DEBUG ? { debug: (m: string) => console.error(`${new Date().toISOString()} ${m}`) } : {}),
    });
    // `sync` made the Secret (as for a workload pre-injected by the post-renderer), owned by the Deployment.
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'web'), namespace: ns });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['cert.pem', 'config.xml', 'key.pem', 'local-cert.pem', 'local-key.pem']);
    // Until the sidecar runs, the sync is connecting.
    await until('connecting', () => handle!.status().state === 'connecting', 10_000);

    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    await handle.waitInSync(60_000);
    expect(remoteTree()).toEqual({
      'README.md': '# web\n',
      'src/main.ts': 'console.log(1);\n',
      'src/lib/util.ts': 'export const x = 1;\n',
    });
    expect(fs.existsSync(path.join(remoteDir, '.git'))).toBe(false);
    expect(fs.existsSync(path.join(remoteDir, 'node_modules'))).toBe(false);
    // The local folder got the managed .stignore (there is a .git) and nothing else from syncthing.
    expect(fs.readFileSync(path.join(localDir, '.stignore'), 'utf8')).toMatch(/^\/\/ Managed by kubectl-dev.*\n\.git\nnode_modules\n$/);
    expect(fs.existsSync(path.join(localDir, '.stfolder'))).toBe(false);
    // The sidecar got the same patterns.
    await until('the sidecar has the ignore patterns', async () => JSON.stringify((await sidecar!.syncthing.rest.getIgnores(FOLDER_ID)).ignore?.filter((l) => !l.startsWith('//'))) === JSON.stringify(['.git', 'node_modules']), 10_000)
      .catch(async (e: Error) => { throw new Error(`${e.message}; session: ${handle!.status().lastError}; local: ${JSON.stringify(await handle!.local.getIgnores(FOLDER_ID))}`); });
    expect(handle.status()).toMatchObject({ state: 'idle', connected: true, pod });
    expect(events).toContain('idle');
    expect(handle.stats().streams).toBeGreaterThan(0);
  });

  it('delivers new, modified and deleted files and a 1,000-file tree', async () => {
    fs.writeFileSync(path.join(localDir, 'new.txt'), 'new\n');
    await arrived('new.txt', 'new\n');
    fs.writeFileSync(path.join(localDir, 'src', 'main.ts'), 'console.log(2);\n');
    await arrived('src/main.ts', 'console.log(2);\n');
    fs.rmSync(path.join(localDir, 'README.md'));
    await until('README.md deleted in the container', () => !fs.existsSync(path.join(remoteDir, 'README.md')), 30_000);

    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(localDir, 'tree', `d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) fs.writeFileSync(path.join(localDir, 'tree', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
    }
    await handle!.waitInSync(120_000);
    const remote = remoteTree();
    expect(Object.keys(remote).filter((p) => p.startsWith('tree/'))).toHaveLength(1000);
    expect(remote).toEqual(Object.fromEntries(Object.entries(localTree()).filter(([p]) => !p.startsWith('.git/') && !p.startsWith('node_modules/'))));
  });

  it('never changes the local folder in send-only mode, whatever happens in the container', async () => {
    const before = treeOf(localDir);
    fs.writeFileSync(path.join(remoteDir, 'src', 'main.ts'), 'changed in the container\n');
    fs.writeFileSync(path.join(remoteDir, 'made-in-container.txt'), 'x\n');
    fs.rmSync(path.join(remoteDir, 'new.txt'));
    // The sidecar notices (its watcher, 1 s) and records them as its own changes.
    await until('sidecar sees local changes', async () => ((await sidecar!.syncthing.rest.dbStatus(FOLDER_ID)).receiveOnlyTotalItems ?? 0) >= 3, 30_000);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(treeOf(localDir)).toEqual(before);
    // A later local change still wins in the container.
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
    const oldPod = sidecar!.pod;
    await sidecar!.stop();
    await core.deleteNamespacedPod({ name: oldPod, namespace: ns });
    // Changes while there is no dev pod.
    fs.writeFileSync(path.join(localDir, 'while-away.txt'), 'written while the pod was gone\n');
    const newPod = await devPod(oldPod);
    expect(newPod).not.toBe(oldPod);
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'web'), namespace: ns });
    // New pod: fresh emptyDirs, syncthing started again from the Secret.
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod: newPod, secret, home: path.join(root, 'sidecar-home') });
    const started = Date.now();
    if (process.env.SYNC_DEBUG) console.error(`${new Date().toISOString()} new sidecar started`);
    await handle!.waitInSync(90_000);
    console.log(`sync resumed ${Date.now() - started} ms after the new sidecar started`);
    expect(remoteTree()).toEqual(Object.fromEntries(Object.entries(localTree()).filter(([p]) => !p.startsWith('.git/') && !p.startsWith('node_modules/'))));
    expect(remoteTree()['while-away.txt']).toBe('written while the pod was gone\n');
    expect(handle!.status()).toMatchObject({ connected: true, pod: newPod });
  });

  // syncthing makes a directory it owns writable before writing into it, so "not
  // writable" needs a directory owned by someone else: root, with the sidecar as uid 1000.
  it.skipIf(!isRoot)('reports an error when the container’s work dir is not writable', async () => {
    fs.chownSync(remoteDir, 0, 0);
    fs.chmodSync(remoteDir, 0o555);
    try {
      fs.writeFileSync(path.join(localDir, 'blocked.txt'), 'cannot land\n');
      await expect(handle!.waitInSync(60_000)).rejects.toMatchObject({ code: 'SYNC_REMOTE_ERROR', message: expect.stringMatching(/blocked\.txt.*permission denied/) });
      await until('error state', () => handle!.status().state === 'error', 10_000);
      expect(handle!.status().lastError).toMatch(/dev container: .*blocked\.txt.*permission denied/);
      const state = await readSyncState(syncTargetOf(kc, ns, 'Deployment', 'web'), env);
      expect(state.status.state).toBe('error');
      expect(state.status.errors.join()).toMatch(/permission denied/);
    } finally {
      fs.chmodSync(remoteDir, 0o777);
    }
    // Writable again: syncthing retries failed pulls after a pause (60 s and up); restarting the folder retries now.
    await sidecar!.syncthing.rest.patchFolder(FOLDER_ID, { paused: true });
    await sidecar!.syncthing.rest.patchFolder(FOLDER_ID, { paused: false });
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
      body: { metadata: { name: 'plain' }, spec: { selector: { matchLabels: { app: 'p' } }, template: { metadata: { labels: { app: 'p' } }, spec: { containers: [{ name: 'a', image: 'x' }] } } } },
    });
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'plain', localDir: root }, { kc, env })).rejects.toMatchObject({ code: 'SYNC_NOT_IN_DEV_MODE', hint: expect.stringContaining('kubectl dev start deployment/plain') });
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'nope', localDir: root }, { kc, env })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'plain', localDir: path.join(root, 'missing') }, { kc, env })).rejects.toMatchObject({ code: 'SYNC_LOCAL_DIR' });
    await expect(runSync({ namespace: ns, kind: 'deploy', name: 'plain', localDir: root, syncthingPath: path.join(root, 'no-syncthing') }, { kc, env })).rejects.toMatchObject({ code: 'SYNCTHING_NOT_FOUND' });
    // Failed attempts leave no lock behind.
    expect(fs.readdirSync(path.join(root, 'config', 'kubectl-dev', 'sync')).flatMap((d) => fs.readdirSync(path.join(root, 'config', 'kubectl-dev', 'sync', d)))).not.toContain('sync.lock');
    void emptyDir;
  });
});

describe('two-way sync', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let handle: SyncHandle | undefined;
  let sidecar: FakeSidecar | undefined;
  afterAll(async () => {
    await handle?.stop();
    await sidecar?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('after the initial sync (the laptop wins), changes in the container come back', async () => {
    kc = testKubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync-2way'));
    root = tempDir('e2e-sync-2way');
    fs.chmodSync(root, 0o755);
    const localDir = path.join(root, 'local');
    const remoteDir = path.join(root, 'workspace');
    fs.mkdirSync(localDir);
    fs.writeFileSync(path.join(localDir, 'main.go'), 'package main\n');
    const deployment: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: ns },
      spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'app', image: 'x' }] } } },
    };
    const [dev] = enter([deployment], { targets: [{ kind: deploymentKind, name: 'api' }], settings: { workdir: remoteDir } });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    const pod = await waitFor('dev pod', async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'api')}` })).items.find((p) => p.status?.phase === 'Running')?.metadata?.name, 60_000);
    const notes: string[] = [];
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    handle = await runSync({ namespace: ns, kind: 'Deployment', name: 'api', localDir, twoWay: true }, { kc, env, onEvent: (e) => e.type === 'notice' && notes.push(e.message) });
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'api'), namespace: ns });
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    await handle.waitInSync(60_000);
    await until('two-way mode on', () => notes.some((n) => /two-way/.test(n)), 20_000);
    expect((await sidecar.syncthing.rest.getFolder(FOLDER_ID)).type).toBe('sendreceive');
    expect((await handle.local.getFolder(FOLDER_ID)).type).toBe('sendreceive');
    // Made in the container → arrives on the laptop.
    fs.writeFileSync(path.join(remoteDir, 'generated.pb.go'), 'package main // generated\n');
    await until('generated file on the laptop', () => fs.existsSync(path.join(localDir, 'generated.pb.go')), 30_000);
    expect(fs.readFileSync(path.join(localDir, 'generated.pb.go'), 'utf8')).toBe('package main // generated\n');
    // And the laptop's changes still go the other way.
    fs.writeFileSync(path.join(localDir, 'main.go'), 'package main\n\nfunc main() {}\n');
    await until('edit in the container', () => fs.readFileSync(path.join(remoteDir, 'main.go'), 'utf8').includes('func main'), 30_000);
  });
});

describe('the initial copy into a new dev pod (tar through exec in the sidecar)', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let localDir: string;
  let remoteDir: string;
  let env: NodeJS.ProcessEnv;
  let pod: string;
  let secret: k8s.V1Secret;
  let handle: SyncHandle | undefined;
  let sidecar: FakeSidecar | undefined;
  const synced = () => Object.fromEntries(Object.entries(treeOf(localDir, META)).filter(([p]) => !p.startsWith('.git/') && !p.startsWith('node_modules/')));

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync-seed'));
    root = tempDir('e2e-sync-seed');
    fs.chmodSync(root, 0o755);
    localDir = path.join(root, 'local');
    remoteDir = path.join(root, 'workspace');
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
    const deployment: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: ns },
      spec: { selector: { matchLabels: { app: 'app' } }, template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'x' }] } } },
    };
    const [dev] = enter([deployment], { targets: [{ kind: deploymentKind, name: 'app' }], settings: { workdir: remoteDir } });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    secret = await core.createNamespacedSecret({ namespace: ns, body: prepareSyncSecret({ workload: dev!, kind: 'Deployment', namespace: ns }).secret as k8s.V1Secret });
    pod = await waitFor('dev pod', async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'app')}` })).items.find((p) => p.status?.phase === 'Running')?.metadata?.name, 60_000);
  });

  afterAll(async () => {
    await handle?.stop();
    await sidecar?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('copies the tree with tar, after which syncthing only records it and takes over', async () => {
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    const debug: string[] = [];
    const notes: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, {
      kc, env, debug: (m) => debug.push(m), onEvent: (e) => e.type === 'notice' && notes.push(e.message),
    });
    await handle.waitInSync(60_000);
    expect(debug.join('\n')).toMatch(/initial copy: 301 files, 3\.\d MB/);
    // Over v4, which the API server passes through instead of translating it to SPDY.
    expect(debug.join('\n')).toMatch(/initial copy: exec in \S+ connected \(v4\.channel\.k8s\.io\)/);
    expect(notes.join('\n')).not.toMatch(/did not complete/);
    expect(treeOf(remoteDir, META)).toEqual(synced());
    expect(fs.existsSync(path.join(remoteDir, 'node_modules'))).toBe(false);
    expect(fs.existsSync(path.join(remoteDir, '.git'))).toBe(false);
    // Written by the sidecar's user, as syncthing's own files are.
    if (isRoot) expect(fs.statSync(path.join(remoteDir, 'src', 'd3', 'f7.ts')).uid).toBe(SIDECAR_UID);
    // The sidecar holds them as received from the laptop, not as changes made in the container.
    const status = await sidecar.syncthing.rest.dbStatus(FOLDER_ID);
    expect(status).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0, localFiles: 301 });
    // And syncthing carries on: a change after the copy arrives.
    fs.writeFileSync(path.join(localDir, 'src', 'd3', 'f7.ts'), 'export const v = -1;\n');
    await arrivedIn(remoteDir, 'src/d3/f7.ts', 'export const v = -1;\n');
    await handle.stop();
    handle = undefined;
  });

  it('a sidecar that already has the files gets no copy; a copy that fails is undone and syncthing copies everything', async () => {
    // Same pod, same sidecar: its folder is not empty any more.
    let debug: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, { kc, env, debug: (m) => debug.push(m) });
    await handle.waitInSync(60_000);
    expect(debug.join('\n')).toMatch(/initial copy skipped: the sidecar's folder is idle, 301 local/);
    await handle.stop();
    handle = undefined;

    // A new sidecar (fresh work dir) whose tar fails half way, 2 s after writing part of
    // the tree (time for the sidecar to notice those files before they are removed again).
    await sidecar!.stop();
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    const real = clientNodeExec(kc);
    const failing: ExecFn = (namespace, p, container, command, ...rest) =>
      real(namespace, p, container, command[2]?.includes('| tar -x') ? ['sh', '-c', `head -c 200000 | tar -x -o -f - -C ${remoteDir}; sleep 2; exit 2`] : command, ...rest);
    debug = [];
    const notes: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, {
      kc, env, exec: failing, debug: (m) => debug.push(m), onEvent: (e) => e.type === 'notice' && notes.push(e.message),
    });
    await handle.waitInSync(90_000);
    // tar's exit status, or only the stream closing when the API server or KWOK drops it first (stdin of a dead process).
    expect(notes.join('\n')).toMatch(/initial copy of 301 files .* did not complete \((tar .*exit code 2|the exec stream closed).*\); syncthing copies them instead/);
    expect(treeOf(remoteDir, META)).toEqual(synced());
    // No conflict copies of half-written files: what the copy wrote was removed before syncthing started.
    expect(Object.keys(treeOf(remoteDir)).filter((p) => p.includes('sync-conflict'))).toEqual([]);
    const status = await sidecar.syncthing.rest.dbStatus(FOLDER_ID);
    expect(status).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0 });
  });

  it('keeps its REST connection to the sidecar while the copy runs (the sidecar is paused on purpose, not gone)', async () => {
    await handle?.stop();
    handle = undefined;
    await sidecar!.stop();
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    const real = clientNodeExec(kc);
    // A slow copy (every frame held back 1 s): the session's monitor runs at least twice meanwhile.
    const slow: ExecFn = async (namespace, p, container, command, ...rest) => {
      const socket = (await real(namespace, p, container, command, ...rest)) as ExecSocket;
      if (!command[2]?.includes('| tar -x')) return socket;
      const send = socket.send.bind(socket);
      socket.send = (data, done) => void setTimeout(() => send(data, done), 1_000);
      return socket;
    };
    const debug: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, { kc, env, exec: slow, debug: (m) => debug.push(m) });
    await handle.waitInSync(60_000);
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
    await until('the container has the local tree', () => JSON.stringify(treeOf(remoteDir, META)) === JSON.stringify(synced()), 30_000);
  });

  it('with the sidecar image\'s syncthing (1.28+), connects while the copy runs and holds the local index back until the sidecar scans the copy', async () => {
    await handle?.stop();
    handle = undefined;
    await sidecar!.stop();
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home'), binary: sidecarSyncthingBinary() });
    const real = clientNodeExec(kc);
    // The copy's frames wait until the test has seen the connection (the local scan ends
    // long before): the copy cannot end first, whatever the timing.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: ExecFn = async (namespace, p, container, command, ...rest) => {
      const socket = (await real(namespace, p, container, command, ...rest)) as ExecSocket;
      if (!command[2]?.includes('| tar -x')) return socket;
      const send = socket.send.bind(socket);
      socket.send = (data, done) => void released.then(() => send(data, done));
      return socket;
    };
    const debug: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, { kc, env, exec: held, debug: (m) => debug.push(m) });
    const sync = handle;
    try {
      await until('connected to the sidecar', async () => (await sync.local.connections()).connections[sync.material.sidecarDeviceId]?.connected === true, 10_000);
      // Connected while the copy runs (syncthing 1.28+ uses a connection only a second after
      // it came up), but the sidecar has no file of the local index: no pull can race the copy.
      expect(debug.join('\n')).toMatch(/local scan done: connecting to the sidecar/);
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await sidecar.syncthing.rest.dbStatus(FOLDER_ID)).globalFiles).toBe(0);
      expect((await sync.refresh()).state).toBe('syncing');
    } finally {
      release();
    }
    await sync.waitInSync(60_000);
    expect(debug.join('\n')).toMatch(/initial copy: \d+ files, .* in \d+ ms/);
    await until('the container has the local tree', () => JSON.stringify(treeOf(remoteDir, META)) === JSON.stringify(synced()), 30_000);
    expect(Object.keys(treeOf(remoteDir)).filter((p) => p.includes('sync-conflict'))).toEqual([]);
    expect(await sidecar.syncthing.rest.dbStatus(FOLDER_ID)).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0 });
    // The later tests use Debian's syncthing as the sidecar again.
    await sync.stop();
    handle = undefined;
    await sidecar.stop();
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
  });

  it('with an older syncthing as the sidecar, connects only when its last scan runs', async () => {
    await handle?.stop();
    handle = undefined;
    await sidecar!.stop();
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    const debug: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, { kc, env, debug: (m) => debug.push(m) });
    await handle.waitInSync(60_000);
    expect(debug.join('\n')).toMatch(/the sidecar's syncthing v1\.19\.\d+\S* uses a connection at once/);
    expect(debug.join('\n')).not.toMatch(/local scan done: connecting/);
    await until('the container has the local tree', () => JSON.stringify(treeOf(remoteDir, META)) === JSON.stringify(synced()), 30_000);
  });

  it('a file edited while the copy runs is removed from the container again, and syncthing sends it', async () => {
    await handle?.stop();
    handle = undefined;
    await sidecar!.stop();
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: path.join(root, 'sidecar-home') });
    const edited = 'export const v = "edited while the copy ran";\n';
    const real = clientNodeExec(kc);
    // The stream's length is its first frame, sent once the copy is planned: the edit comes
    // after the plan, before tar reads the file.
    const editing: ExecFn = async (namespace, p, container, command, ...rest) => {
      const socket = (await real(namespace, p, container, command, ...rest)) as ExecSocket;
      if (!command[2]?.includes('| tar -x')) return socket;
      const send = socket.send.bind(socket);
      let planned = false;
      socket.send = (data, done) => {
        if (!planned) fs.writeFileSync(path.join(localDir, 'src', 'd0', 'f0.ts'), edited);
        planned = true;
        send(data, done);
      };
      return socket;
    };
    const debug: string[] = [];
    handle = await runSync({ namespace: ns, kind: 'deployment', name: 'app', localDir, ignores: ['node_modules'] }, { kc, env, exec: editing, debug: (m) => debug.push(m) });
    await handle.waitInSync(60_000);
    expect(debug.join('\n')).toMatch(/initial copy: 1 file\(s\) changed while being copied, removed again/);
    await arrivedIn(remoteDir, 'src/d0/f0.ts', edited);
    await until('the container has the local tree', () => JSON.stringify(treeOf(remoteDir, META)) === JSON.stringify(synced()), 30_000);
    // Received from the laptop, not kept as a change made in the container.
    const status = await sidecar.syncthing.rest.dbStatus(FOLDER_ID);
    expect(status).toMatchObject({ receiveOnlyTotalItems: 0, needTotalItems: 0 });
  });
});
