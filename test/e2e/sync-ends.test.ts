// A sync session whose workload leaves dev mode from elsewhere ends itself and says why (issue 16):
// against the test control plane's real node, with the CLI run as a user runs it (bundled, as a
// child process). `kubectl dev end` runs with another config dir — another machine, as far as
// kubectl-dev can tell — so it cannot stop the session itself; only the session's own check can.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { StatusRow } from '../../src/live/status.ts';
import { readSyncState, stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { isAlive } from '../../src/sync/process.ts';
import { readLock, readSession, statePaths, type StatePaths } from '../../src/sync/state.ts';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { until } from '../unit/sync/support.ts';
import { cliWorkspace, spawnCli, type CliRun } from './cli-process.ts';

const IMAGE = 'busybox:1.36';
/** A PID 1 that blocks and ends on SIGTERM, for the original pods (they stop when dev mode starts). */
const BLOCKING = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"];
/** The session checks every 5 s and then stops (syncthing, listeners): it must be gone well within this. */
const ENDS_WITHIN_MS = 20_000;

/** True when nothing accepts connections on 127.0.0.1:port. */
function closed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** True while a process of the group `pgid` (syncthing's guard, monitor and worker) lives. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a session runs: its process, syncthing's group, and the two port-forward listeners. */
function sessionParts(paths: StatePaths) {
  const session = readSession(paths.session)!;
  const apiPort = Number(new URL(session.remoteApi!.url).port);
  const syncPort = Number(/tcp:\/\/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(path.join(paths.home, 'config.xml'), 'utf8'))![1]);
  return { pid: session.pid, syncthing: session.syncthingPid!, ports: [apiPort, syncPort] };
}

describe('a sync whose workload leaves dev mode elsewhere ends itself', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  /** This machine. */
  let env: NodeJS.ProcessEnv;
  /** Another machine: its own config dir, the same cluster. */
  let elsewhere: NodeJS.ProcessEnv;
  const runs: CliRun[] = [];

  const run = (args: string[], runEnv = env) => {
    const r = spawnCli(cli, args, { cwd: localDir, env: runEnv });
    runs.push(r);
    return r;
  };
  const target = (name: string, namespace = ns) => syncTargetOf(kc, namespace, 'Deployment', name);
  const createDeployment = (name: string, namespace = ns) =>
    kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace,
      body: { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: IMAGE, command: BLOCKING }] } } } },
    });
  const startDevMode = async (name: string, namespace = ns) => {
    await createDeployment(name, namespace);
    const start = run(['start', `deployment/${name}`, '-n', namespace, '--image', IMAGE, '--no-sync', '--timeout', '120s']);
    expect(await start.exited, start.all()).toBe(0);
  };
  const statusRows = async (namespace = ns): Promise<StatusRow[]> => {
    const r = run(['status', '-n', namespace, '-o', 'json']);
    expect(await r.exited, r.all()).toBe(0);
    return (JSON.parse(r.out()) as { items: StatusRow[] }).items;
  };
  /** Everything of the session is gone: process, syncthing, listeners, lock. */
  const allGone = async (paths: StatePaths, parts: ReturnType<typeof sessionParts>) => {
    expect(isAlive(parts.pid)).toBe(false);
    await until('syncthing gone', () => !groupAlive(parts.syncthing), 10_000);
    for (const port of parts.ports) expect(await closed(port), `listener on ${port}`).toBe(true);
    expect(readLock(paths.lock)).toBeUndefined();
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ ns, removeNs, root, cli, localDir, env } = await cliWorkspace(kc, 'sync-ends', { 'app.py': 'print("v1")\n' }));
    elsewhere = { ...env, XDG_CONFIG_HOME: path.join(root, 'config-elsewhere') };
  });

  afterAll(async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (kc && ns) for (const name of ['app', 'gone', 'runs']) await stopLocalSync(target(name), env).catch(() => {});
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('sync --wait, then end on another machine: the background session exits, stops syncthing and its listeners, and status says why', async () => {
    await startDevMode('app');
    const wait = run(['sync', 'deploy/app', '-n', ns, '--wait', '--timeout', '90s']);
    expect(await wait.exited, wait.all()).toBe(0);
    expect(wait.out()).toMatch(/in sync \(idle\); the sync keeps running in the background \(pid \d+\)/);
    const paths = statePaths(env, target('app'));
    const parts = sessionParts(paths);
    expect(isAlive(parts.pid)).toBe(true);
    for (const port of parts.ports) expect(await closed(port)).toBe(false);
    // Two of the session's dev-mode checks pass (session.json says when the last one did): it keeps running.
    const checkedAt = async () => readSession(paths.session)?.inDevModeAt;
    const first = await until('a dev-mode check passed', checkedAt, 30_000, 200);
    await until('a second dev-mode check passed', async () => ((await checkedAt()) ?? first) > first, 30_000, 200);
    expect((await readSyncState(target('app'), env)).running).toBe(true);

    const end = run(['end', 'deployment/app', '-n', ns], elsewhere);
    expect(await end.exited, end.all()).toBe(0);
    const endedAt = Date.now();
    await until('the background session exited', () => !isAlive(parts.pid), ENDS_WITHIN_MS, 100);
    console.log(`background session gone ${Date.now() - endedAt} ms after end returned`);
    await allGone(paths, parts);

    const session = readSession(paths.session)!;
    expect(session.state).toBe('stopped');
    expect(session.ended).toMatchObject({ cause: 'left-dev-mode', reason: 'deployment/app left dev mode (kubectl dev end elsewhere?)' });
    expect(session.lastError).toBe('sync ended: deployment/app left dev mode (kubectl dev end elsewhere?)');
    // The background session's own output (its log in the state dir) says it too.
    expect(fs.readFileSync(path.join(paths.dir, 'background.log'), 'utf8')).toMatch(/error: sync ended: deployment\/app left dev mode \(kubectl dev end elsewhere\?\)\n\s+hint: to sync again, start dev mode again: kubectl dev start deployment\/app/);

    expect((await statusRows()).find((r) => r.name === 'app')).toMatchObject({ kind: 'Deployment', phase: 'NotInDevMode', sync: 'ended: deployment/app left dev mode (kubectl dev end elsewhere?)' });
    const table = run(['status', '-n', ns]);
    expect(await table.exited).toBe(0);
    expect(table.out()).toMatch(/Deployment\s+app\s+.*NotInDevMode\s+-\s+-\s+ended: deployment\/app left dev mode \(kubectl dev end elsewhere\?\)/);
    // The other machine's status knows nothing of this machine's session.
    const there = run(['status', '-n', ns, '-o', 'json'], elsewhere);
    expect(await there.exited).toBe(0);
    expect((JSON.parse(there.out()) as { items: StatusRow[] }).items.find((r) => r.name === 'app')).toBeUndefined();
  });

  it('a foreground sync whose workload is deleted prints why and exits with code 3', async () => {
    await startDevMode('gone');
    const sync = run(['sync', 'deployment/gone', '-n', ns]);
    await until('idle shown', () => /\bidle\b/.test(sync.out()), 90_000, 100);
    const paths = statePaths(env, target('gone'));
    const parts = sessionParts(paths);

    await kc.makeApiClient(k8s.AppsV1Api).deleteNamespacedDeployment({ name: 'gone', namespace: ns });
    const deletedAt = Date.now();
    const code = await Promise.race([sync.exited, new Promise<string>((r) => setTimeout(() => r(`still running after ${ENDS_WITHIN_MS} ms:\n${sync.all()}`), ENDS_WITHIN_MS))]);
    console.log(`foreground sync exited ${Date.now() - deletedAt} ms after the delete`);
    expect(code, sync.all()).toBe(EXIT.input);
    expect(sync.err()).toMatch(new RegExp(`^error: sync ended: deployment/gone was deleted \\(it is not in namespace ${ns} any more\\)\\n\\s+hint: nothing is left to sync into`, 'm'));
    // bin.ts did not have to end a process kept alive by a leaked handle.
    expect(sync.err()).not.toMatch(/stayed open/);
    await allGone(paths, parts);
    expect(readSession(paths.session)!.ended?.cause).toBe('deleted');
    expect((await statusRows()).find((r) => r.name === 'gone')).toMatchObject({ phase: 'Deleted', sync: `ended: deployment/gone was deleted (it is not in namespace ${ns} any more)` });
  });

  it('kubectl dev run, then end on another machine: the run stops its command and exits 3 with why', async () => {
    await startDevMode('runs');
    const running = run(['run', 'deployment/runs', '-n', ns, '--', 'sh', '-c', 'echo started; sleep 100000']);
    await until('the command started', () => /started/.test(running.out()), 90_000, 100);
    const end = run(['end', 'deployment/runs', '-n', ns], elsewhere);
    expect(await end.exited, end.all()).toBe(0);
    const code = await Promise.race([running.exited, new Promise<string>((r) => setTimeout(() => r(`still running after ${ENDS_WITHIN_MS} ms:\n${running.all()}`), ENDS_WITHIN_MS))]);
    expect(code, running.all()).toBe(EXIT.input);
    expect(running.err()).toMatch(/^error: sync ended: deployment\/runs left dev mode \(kubectl dev end elsewhere\?\)/m);
    expect(running.err()).not.toMatch(/stayed open/);
  });

  it('sync --wait, then the namespace is deleted: the background session ends with why', async () => {
    const other = await createTestNamespace(kc, 'sync-ends-ns');
    let deleted = false;
    try {
      await startDevMode('web', other.name);
      const wait = run(['sync', 'deploy/web', '-n', other.name, '--wait', '--timeout', '90s']);
      expect(await wait.exited, wait.all()).toBe(0);
      const paths = statePaths(env, target('web', other.name));
      const parts = sessionParts(paths);
      await other.remove();
      deleted = true;
      const removedAt = Date.now();
      // The namespace controller deletes what is in it in its own time: the session can only follow.
      const apps = kc.makeApiClient(k8s.AppsV1Api);
      await until('the Deployment deleted by the namespace controller', () => apps.readNamespacedDeployment({ name: 'web', namespace: other.name })
        .then((d) => d.metadata?.deletionTimestamp !== undefined, (e: { code?: number }) => e.code === 404), 120_000, 100);
      const workloadGoneAt = Date.now();
      await until('the background session exited', () => !isAlive(parts.pid), ENDS_WITHIN_MS, 100);
      console.log(`the Deployment was gone ${workloadGoneAt - removedAt} ms after the namespace's delete; the background session ${Date.now() - workloadGoneAt} ms later`);
      await allGone(paths, parts);
      // The namespace's content goes first (the workload being deleted, or gone): either way, deleted.
      expect(readSession(paths.session)!.ended).toMatchObject({ cause: 'deleted', reason: expect.stringMatching(/^deployment\/web (was|is being) deleted/) });
      expect((await statusRows(other.name)).find((r) => r.name === 'web')).toMatchObject({ phase: 'Deleted', sync: expect.stringMatching(/^ended: deployment\/web (was|is being) deleted/) });
    } finally {
      await stopLocalSync(target('web', other.name), env).catch(() => {});
      if (!deleted) await other.remove();
    }
  });
});
