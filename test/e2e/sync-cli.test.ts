// `kubectl dev sync` as a user runs it — the CLI bundled with esbuild into a temp
// file and run as a child process — against the test control plane, with the
// Secret made the way `start` makes it (prepareSyncSecret) and a real syncthing
// as the sidecar.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enter } from '../../src/core/enter.ts';
import { workloadKindByName } from '../../src/core/kinds.ts';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { prepareSyncSecret, readSyncState, stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { isAlive } from '../../src/sync/process.ts';
import { readLock, readSession, statePaths } from '../../src/sync/state.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { tempDir, treeOf, until } from '../unit/sync/support.ts';
import { bundleCli, spawnCli, type CliRun } from './cli-process.ts';
import { startFakeSidecar, type FakeSidecar, arrivedIn } from './sync-sidecar.ts';


describe('kubectl dev sync (CLI)', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let remoteDir: string;
  let env: NodeJS.ProcessEnv;
  let sidecar: FakeSidecar | undefined;
  const runs: CliRun[] = [];

  const run = (args: string[]) => {
    const r = spawnCli(cli, args, { cwd: localDir, env });
    runs.push(r);
    return { child: r.child, out: r.all, exited: r.exited };
  };
  const target = () => syncTargetOf(kc, ns, 'Deployment', 'web');
  const inRemote = (rel: string, content: string) => arrivedIn(remoteDir, rel, content);

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'sync-cli'));
    root = tempDir('e2e-sync-cli');
    fs.chmodSync(root, 0o755);
    cli = path.join(root, 'kubectl-dev.cjs');
    await bundleCli(cli);
    localDir = path.join(root, 'local');
    remoteDir = path.join(root, 'workspace');
    fs.mkdirSync(localDir);
    fs.writeFileSync(path.join(localDir, 'app.py'), 'print("v1")\n');
    env = { ...process.env, KUBECONFIG: testKubeconfigPath(), XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };

    // The workload in dev mode, and its Secret as `start` creates it.
    const deployment: KubeObject = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] } } },
    };
    const [dev] = enter([deployment], { targets: [{ kind: workloadKindByName('deployment')!, name: 'web' }], settings: { workdir: remoteDir } });
    const created = await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns, body: dev as k8s.V1Deployment });
    const { secret } = prepareSyncSecret({ workload: dev!, kind: 'Deployment', namespace: ns });
    const body = { ...secret, metadata: { ...secret.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: created.metadata!.uid! }] } };
    const stored = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: ns, body: body as k8s.V1Secret });
    const pod = await waitFor('dev pod Running', async () => {
      const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'web')}` });
      return pods.items.find((p) => p.status?.phase === 'Running')?.metadata?.name;
    }, 60_000);
    sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret: stored, home: path.join(root, 'sidecar-home') });
  });

  afterAll(async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (kc && ns) await stopLocalSync(target(), env).catch(() => {});
    await sidecar?.stop();
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('--once syncs, says so, and leaves nothing running; the dev config’s ignore patterns apply', async () => {
    fs.writeFileSync(path.join(localDir, '.kubectl-dev.yaml'), 'workloads:\n  deploy/web:\n    sync: { ignore: [secret.env] }\n');
    fs.writeFileSync(path.join(localDir, 'secret.env'), 'TOKEN=x\n');
    const r = run(['sync', 'deployment/web', '-n', ns, '--once', '--timeout', '60s']);
    expect(await r.exited, r.out()).toBe(0);
    expect(r.out()).toMatch(/syncing .*local → deployment\/web:.*workspace in namespace .* \(send-only; syncthing v1\./);
    expect(r.out()).toMatch(/deployment\/web: in sync/);
    expect(treeOf(remoteDir, ['.stfolder', '.stignore'])).toEqual({ 'app.py': 'print("v1")\n', '.kubectl-dev.yaml': expect.any(String) });
    expect(fs.readFileSync(path.join(localDir, '.stignore'), 'utf8')).toMatch(/\nsecret\.env\n$/);
    const paths = statePaths(env, target());
    expect(readLock(paths.lock)).toBeUndefined();
    expect(isAlive(readSession(paths.session)!.syncthingPid!)).toBe(false);
  });

  it('--wait returns once in sync and leaves the sync running in the background; end (stopLocalSync) stops it', async () => {
    fs.writeFileSync(path.join(localDir, 'app.py'), 'print("v2")\n');
    const r = run(['sync', 'deploy/web', '-n', ns, '--wait', '--timeout', '60s']);
    expect(await r.exited, r.out()).toBe(0);
    expect(r.out()).toMatch(/in sync \(idle\); the sync keeps running in the background \(pid \d+\)/);
    expect(fs.readFileSync(path.join(remoteDir, 'app.py'), 'utf8')).toBe('print("v2")\n');
    const state = await readSyncState(target(), env);
    expect(state.running).toBe(true);
    const background = state.pid!;
    expect(background).not.toBe(r.child.pid);
    // Still syncing after the command returned.
    fs.writeFileSync(path.join(localDir, 'later.txt'), 'after --wait\n');
    await inRemote('later.txt', 'after --wait\n');
    // A second --wait attaches to the running session instead of starting another.
    const again = run(['sync', 'deploy/web', '-n', ns, '--wait']);
    expect(await again.exited, again.out()).toBe(0);
    expect((await readSyncState(target(), env)).pid).toBe(background);
    // A foreground sync is refused while it runs.
    const second = run(['sync', 'deploy/web', '-n', ns]);
    expect(await second.exited).toBe(EXIT.state);
    expect(second.out()).toMatch(/error: a local sync for Deployment\/web .* is already running \(pid \d+/);

    const syncthingPid = readSession(statePaths(env, target()).session)!.syncthingPid!;
    expect(await stopLocalSync(target(), env)).toBe(true);
    expect(isAlive(background)).toBe(false);
    await until('syncthing stopped', () => !isAlive(syncthingPid), 10_000);
    expect((await readSyncState(target(), env)).status.state).toBe('stopped');
  });

  it('in the foreground: shows the state, and Ctrl-C stops it cleanly', async () => {
    const r = run(['sync', 'deployment/web', '-n', ns]);
    await until('idle shown', () => /\bidle\b/.test(r.out()), 60_000);
    expect(r.out()).toMatch(/idle \[pod web-/);
    fs.writeFileSync(path.join(localDir, 'fg.txt'), 'foreground\n');
    await inRemote('fg.txt', 'foreground\n');
    const syncthingPid = readSession(statePaths(env, target()).session)!.syncthingPid!;
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
    await until('syncthing stopped', () => !isAlive(syncthingPid), 10_000);
    expect(readLock(statePaths(env, target()).lock)).toBeUndefined();
  });

  it('says how to install syncthing when it is missing', async () => {
    const r = run(['sync', 'deployment/web', '-n', ns, '--once', '--syncthing', '/nonexistent/syncthing']);
    expect(await r.exited).toBe(EXIT.runtime);
    expect(r.out()).toMatch(/error: syncthing from --syncthing \(\/nonexistent\/syncthing\) is not an executable file\n\s+hint: install syncthing 1\.19 or newer \(Debian\/Ubuntu: apt-get install syncthing/);
  });
});
