// Another field manager reverts dev mode (issue 20, point 3): `kubectl apply` of the original
// manifest, and a Helm-like JSON patch under another field manager that removes the sidecar,
// while `kubectl dev sync` or `kubectl dev run` runs. Against the test control plane's real
// node, with the CLI run as a user runs it (bundled, as a child process) and the real kubectl.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { StatusRow } from '../../src/live/status.ts';
import { stopLocalSync, syncTargetOf } from '../../src/sync/index.ts';
import { isAlive } from '../../src/sync/process.ts';
import { readLock, readSession, statePaths } from '../../src/sync/state.ts';
import { kubectlBinary } from '../support/binaries.ts';
import { testKubeConfig, testKubeconfigPath } from '../support/cluster.ts';
import { until } from '../unit/sync/support.ts';
import { cliWorkspace, spawnCli, type CliRun } from './cli-process.ts';

const run = promisify(execFile);
/** The session checks every 5 s and then stops: it must be gone well within this. */
const ENDS_WITHIN_MS = 25_000;
const COMMAND = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"];

const manifest = (name: string) => JSON.stringify({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'busybox:1.36', command: COMMAND }] } },
  },
});

interface Template { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: Array<Record<string, unknown>>; volumes?: unknown[] } }

describe('dev mode reverted by another field manager', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  const runs: CliRun[] = [];

  const dev = (args: string[]) => {
    const r = spawnCli(cli, args, { cwd: localDir, env });
    runs.push(r);
    return r;
  };
  const kubectl = async (args: string[], input?: string) => {
    const child = run(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), '-n', ns, ...args], { encoding: 'utf8' });
    if (input !== undefined) child.child.stdin!.end(input);
    return (await child).stdout;
  };
  const read = (name: string) => kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name, namespace: ns });
  const secretExists = (name: string) => kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: `${name}-deployment-dev-sync`, namespace: ns }).then(() => true, () => false);
  const statusRow = async (name: string): Promise<StatusRow | undefined> => {
    const r = dev(['status', '-n', ns, '-o', 'json']);
    expect(await r.exited, r.all()).toBe(0);
    return (JSON.parse(r.out()) as { items: StatusRow[] }).items.find((row) => row.name === name);
  };
  const exitedWithin = (r: CliRun) => Promise.race([r.exited, new Promise<string>((resolve) => setTimeout(() => resolve(`still running after ${ENDS_WITHIN_MS} ms:\n${r.all()}`), ENDS_WITHIN_MS))]);
  /** Applied with kubectl (client-side apply, as a user or a pipeline does), then in dev mode. */
  const startDevMode = async (name: string) => {
    await kubectl(['apply', '-f', '-'], manifest(name));
    const start = dev(['start', `deployment/${name}`, '-n', ns, '--no-sync', '--timeout', '120s']);
    expect(await start.exited, start.all()).toBe(0);
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ ns, removeNs, root, cli, localDir, env } = await cliWorkspace(kc, 'revert', { 'app.py': 'print("v1")\n' }));
  });

  afterAll(async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (kc && ns) for (const name of ['web', 'chart']) await stopLocalSync(syncTargetOf(kc, ns, 'Deployment', name), env).catch(() => {});
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('kubectl apply of the original: status names the manager and the time, the running sync stops with why, end cleans up and keeps the apply', async () => {
    await startDevMode('web');
    const sync = dev(['sync', 'deployment/web', '-n', ns]);
    await until('idle shown', () => /\bidle\b/.test(sync.out()), 90_000, 100);
    const paths = statePaths(env, syncTargetOf(kc, ns, 'Deployment', 'web'));
    const sessionPid = readSession(paths.session)!.pid;

    const before = Math.floor(Date.now() / 1000) * 1000;
    await kubectl(['apply', '-f', '-'], manifest('web'));
    const after = Date.now() + 1000;
    // What really happens: the apply gives the command back; the sidecar, the volumes and the marks stay.
    const applied = await read('web');
    expect(applied.metadata?.labels?.['dev.kubectl-dev.io/dev-mode']).toBe('true');
    expect(applied.spec!.template.spec!.containers.map((c) => c.name)).toEqual(['app', 'kubectl-dev-sync']);
    expect(applied.spec!.template.spec!.containers[0]!.command).toEqual(COMMAND);

    const row = await statusRow('web');
    expect(row?.phase).toMatch(/^reverted by kubectl-client-side-apply at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(row?.reverted).toMatchObject({ by: 'kubectl-client-side-apply', operation: 'Update', undone: ['spec.template.spec.containers[app].command'] });
    const at = Date.parse(row!.reverted!.at!);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    const table = dev(['status', '-n', ns]);
    expect(await table.exited).toBe(0);
    expect(table.out()).toMatch(/Deployment\s+web\s+.*reverted by kubectl-client-side-apply at /);

    const code = await exitedWithin(sync);
    expect(code, sync.all()).toBe(EXIT.state);
    expect(sync.err()).toMatch(/^error: sync ended: deployment\/web was reverted by kubectl-client-side-apply at \S+Z\n\s+hint: kubectl dev end deployment\/web -n \S+ removes what dev mode left and keeps that change/m);
    expect(sync.err()).not.toMatch(/stayed open/);
    expect(isAlive(sessionPid)).toBe(false);
    expect(readLock(paths.lock)).toBeUndefined();
    expect(readSession(paths.session)!.ended).toMatchObject({ cause: 'reverted' });

    const end = dev(['end', 'deployment/web', '-n', ns]);
    expect(await end.exited, end.all()).toBe(0);
    expect(end.out()).toMatch(/^deployment\/web was reverted by kubectl-client-side-apply at \S+ \(spec\.template\.spec\.containers\[app\]\.command\): that change is kept, not restored over; removed what dev mode left .*Secret\/web-deployment-dev-sync/m);
    expect(await secretExists('web')).toBe(false);
    const ended = await read('web');
    const template = ended.spec!.template as unknown as Template;
    expect(template.spec.containers.map((c) => c.name)).toEqual(['app']);
    expect(template.spec.containers[0]!.command).toEqual(COMMAND);
    expect(template.spec.containers[0]!.workingDir).toBeUndefined();
    expect(template.spec.volumes).toBeUndefined();
    expect(template.metadata?.labels).toEqual({ app: 'web' });
    expect(template.metadata?.annotations).toBeUndefined();
    expect(ended.metadata?.labels).toEqual({ app: 'web' });
    expect(Object.keys(ended.metadata?.annotations ?? {}).filter((k) => k.startsWith('dev.kubectl-dev.io/'))).toEqual([]);
    // The apply's record stays: the next apply sees its own last configuration.
    expect((JSON.parse(ended.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration']!) as { spec: unknown }).spec).toEqual((JSON.parse(manifest('web')) as { spec: unknown }).spec);
    // Not in dev mode any more; for a day status still says what became of this machine's sync.
    expect(await statusRow('web')).toMatchObject({ phase: 'Reverted', devPod: '-', sync: expect.stringMatching(/^ended: deployment\/web was reverted by kubectl-client-side-apply at /) });
  });

  it('a Helm-like JSON patch by another field manager removing the sidecar: the running `run` stops with why, end gives the rest back', async () => {
    await startDevMode('chart');
    const running = dev(['run', 'deployment/chart', '-n', ns, '--', 'sh', '-c', 'echo started; sleep 100000']);
    await until('the command started', () => /started/.test(running.out()), 90_000, 100);

    await kubectl(['patch', 'deployment/chart', '--type=json', '--field-manager=helm', '-p', JSON.stringify([{ op: 'remove', path: '/spec/template/spec/containers/1' }])]);
    const row = await statusRow('chart');
    // A change that only removes fields leaves no owner: managedFields cannot name helm.
    expect(row?.phase).toBe('reverted by another field manager (a change that only removed fields leaves no owner in managedFields)');
    expect(row?.reverted).toEqual({ undone: ['spec.template.spec.containers[kubectl-dev-sync]'] });

    const code = await exitedWithin(running);
    expect(code, running.all()).toBe(EXIT.state);
    expect(running.err()).toMatch(/^error: sync ended: deployment\/chart was reverted by another field manager/m);
    expect(running.err()).not.toMatch(/stayed open/);

    const end = dev(['end', 'deployment/chart', '-n', ns]);
    expect(await end.exited, end.all()).toBe(0);
    expect(end.out()).toMatch(/that change is kept, not restored over/);
    expect(await secretExists('chart')).toBe(false);
    const template = (await read('chart')).spec!.template as unknown as Template;
    // The patch's change kept (no sidecar); dev mode's own edits, which the patch left, gone.
    expect(template.spec.containers.map((c) => c.name)).toEqual(['app']);
    expect(template.spec.containers[0]!.command).toEqual(COMMAND);
    expect(template.spec.volumes).toBeUndefined();
    expect(template.metadata?.labels).toEqual({ app: 'chart' });
  });
});
