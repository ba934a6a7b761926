// `kubectl dev sync` as a user runs it — the CLI bundled with esbuild into a temp
// file and run as a child process — against the test control plane's REAL node: the
// workload is put in dev mode by `kubectl dev start --no-sync` (its Secret, its dev pod
// with the product's own syncthing sidecar from the default image), and what arrives is
// read in the dev container with kubectl exec. No syncthing started by the test.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { readSyncState, stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { isAlive } from '../../src/sync/process.ts';
import { readLock, readSession, statePaths } from '../../src/sync/state.ts';
import { testKubeConfig } from '../support/cluster.ts';
import { arrivedInContainerAsync, execInAsync, readFileInAsync, readyPod, treeIn } from '../support/pods.ts';
import { treeOf, until } from '../unit/sync/support.ts';
import { cliWorkspace, spawnCli, type CliRun } from './cli-process.ts';

const WORKDIR = '/workspace';
const IMAGE = 'busybox:1.36';
/** A PID 1 that blocks and ends on SIGTERM, for the original pods (they stop when dev mode starts). */
const BLOCKING = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"];

describe('kubectl dev sync (CLI) against the real sidecar', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  let pod: string;
  const runs: CliRun[] = [];

  const run = (args: string[], cwd = localDir) => {
    const r = spawnCli(cli, args, { cwd, env });
    runs.push(r);
    return { child: r.child, out: r.all, exited: r.exited };
  };
  const target = (name = 'web') => syncTargetOf(kc, ns, 'Deployment', name);
  const inRemote = (rel: string, content: string) => arrivedInContainerAsync(ns, pod, 'app', `${WORKDIR}/${rel}`, content);
  /** A Deployment as a user has it, with a container "app" and `extra` fields in it. */
  const createDeployment = (name: string, container: Record<string, unknown> = {}) =>
    kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: IMAGE, command: BLOCKING, ...container }] } } } },
    });
  const devPod = (name: string) => readyPod(kc, ns, `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', name)}`);

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ ns, removeNs, root, cli, localDir, env } = await cliWorkspace(kc, 'sync-cli', { 'app.py': 'print("v1")\n' }));

    // The workload, then dev mode as a user enters it: the Secret, the dev pod with its sidecar; no sync yet.
    await createDeployment('web');
    const start = run(['start', 'deployment/web', '-n', ns, '--image', IMAGE, '--no-sync', '--timeout', '120s']);
    expect(await start.exited, start.out()).toBe(0);
    pod = await devPod('web');
  });

  afterAll(async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (kc && ns) {
      await stopLocalSync(target('web'), env).catch(() => {});
      await stopLocalSync(target('svc'), env).catch(() => {});
    }
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('--once syncs, says so, and leaves nothing running; the dev config’s ignore patterns apply', async () => {
    fs.writeFileSync(path.join(localDir, '.kubectl-dev.yaml'), 'workloads:\n  deploy/web:\n    sync: { ignore: [secret.env] }\n');
    fs.writeFileSync(path.join(localDir, 'secret.env'), 'TOKEN=x\n');
    const r = run(['sync', 'deployment/web', '-n', ns, '--once', '--timeout', '90s']);
    expect(await r.exited, r.out()).toBe(0);
    expect(r.out()).toMatch(/syncing .*local → deployment\/web:\/workspace in namespace .* \(send-only; syncthing v1\./);
    expect(r.out()).toMatch(/deployment\/web: in sync/);
    expect(await treeIn(ns, pod, 'app', WORKDIR, ['.stfolder', '.stignore'])).toEqual({ 'app.py': 'print("v1")\n', '.kubectl-dev.yaml': expect.any(String) });
    expect(fs.readFileSync(path.join(localDir, '.stignore'), 'utf8')).toMatch(/\nsecret\.env\n$/);
    const paths = statePaths(env, target());
    expect(readLock(paths.lock)).toBeUndefined();
    expect(isAlive(readSession(paths.session)!.syncthingPid!)).toBe(false);
  });

  it('--wait returns once in sync and leaves the sync running in the background; end (stopLocalSync) stops it', async () => {
    fs.writeFileSync(path.join(localDir, 'app.py'), 'print("v2")\n');
    const r = run(['sync', 'deploy/web', '-n', ns, '--wait', '--timeout', '90s']);
    expect(await r.exited, r.out()).toBe(0);
    expect(r.out()).toMatch(/in sync \(idle\); the sync keeps running in the background \(pid \d+\)/);
    expect(await readFileInAsync(ns, pod, 'app', `${WORKDIR}/app.py`)).toBe('print("v2")\n');
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
    await until('idle shown', () => /\bidle\b/.test(r.out()), 90_000);
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

  it('the synced tree is writable by the dev container’s own user (uid 1001, --keep-security-context): what the copy wrote and what syncthing wrote', async () => {
    // A container that runs as 1001:1001 (no group in common with the sidecar's 1000:0), kept in dev mode.
    await createDeployment('svc', { securityContext: { runAsUser: 1001, runAsGroup: 1001, runAsNonRoot: true } });
    const svcDir = path.join(root, 'svc');
    fs.mkdirSync(path.join(svcDir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(svcDir, 'app.py'), 'print("svc")\n');
    fs.writeFileSync(path.join(svcDir, 'src', 'lib.py'), 'X = 1\n');
    const start = run(['start', 'deployment/svc', '-n', ns, '--image', IMAGE, '--keep-security-context', '--no-sync', '--timeout', '120s'], svcDir);
    expect(await start.exited, start.out()).toBe(0);
    const svcPod = await devPod('svc');
    // The initial copy (tar in the sidecar) into the new pod.
    const first = run(['sync', 'deployment/svc', '-n', ns, '--once', '--timeout', '90s'], svcDir);
    expect(await first.exited, first.out()).toBe(0);
    expect(await treeIn(ns, svcPod, 'app', WORKDIR, ['.stfolder', '.stignore'])).toEqual({ 'app.py': 'print("svc")\n', 'src/lib.py': 'X = 1\n' });
    const modes = async () => (await execInAsync(ns, svcPod, 'app', ['sh', '-c', `cd ${WORKDIR} && stat -c '%n %a %u:%g' * src/* gen gen/* 2>/dev/null`])).stdout.trim();
    const asDevUser = async (script: string) => {
      const r = run(['exec', 'deployment/svc', '-n', ns, '--', 'sh', '-c', script], svcDir);
      const code = await r.exited;
      return { code, out: r.out() };
    };
    const copied = await asDevUser(`id -u && echo x > ${WORKDIR}/src/new && echo ok >> ${WORKDIR}/app.py && mkdir ${WORKDIR}/src/sub`);
    expect(copied, await modes()).toEqual({ code: 0, out: '1001\n' });
    expect(await readFileInAsync(ns, svcPod, 'app', `${WORKDIR}/app.py`)).toBe('print("svc")\nok\n');
    // A directory and a file that syncthing writes (the folder is not empty now: no copy), and a file it replaces.
    fs.mkdirSync(path.join(svcDir, 'gen'));
    fs.writeFileSync(path.join(svcDir, 'gen', 'api.py'), 'API = 2\n');
    fs.writeFileSync(path.join(svcDir, 'src', 'lib.py'), 'X = 2\n');
    const second = run(['sync', 'deployment/svc', '-n', ns, '--once', '--timeout', '90s'], svcDir);
    expect(await second.exited, second.out()).toBe(0);
    expect(await readFileInAsync(ns, svcPod, 'app', `${WORKDIR}/gen/api.py`)).toBe('API = 2\n');
    const synced = await asDevUser(`echo y > ${WORKDIR}/gen/new && echo ok >> ${WORKDIR}/gen/api.py && echo ok >> ${WORKDIR}/src/lib.py`);
    expect(synced, await modes()).toEqual({ code: 0, out: '' });
    expect(await readFileInAsync(ns, svcPod, 'app', `${WORKDIR}/gen/api.py`)).toBe('API = 2\nok\n');
  });
});
