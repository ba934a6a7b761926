// `kubectl dev up` / `down` as a user runs them, on the test cluster's real node, with a dev
// config of three workloads of three kinds: a Deployment and a StatefulSet whose dev image the
// node has, and a CronJob whose dev image it does not have (its dev pod cannot start). The two
// reach dev mode, get the local files synced into their containers and run their `run`
// command, every line prefixed with their name; the CronJob's failure is reported with its
// prefix and makes the exit code non-zero (or, with --abort-on-failure, stops the others);
// Ctrl-C leaves dev mode on; `status` groups them under the dev config; `down` restores each
// object to what it was.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { DEV_MODE_LABEL } from '../../src/core/marks.ts';
import { persistentClaimName } from '../../src/core/names.ts';
import type { StatusRow } from '../../src/live/status.ts';
import { kubectlBinary } from '../support/binaries.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { tempDir } from '../unit/sync/support.ts';
import { bundleCli, interrupt, spawnCli, type CliRun } from './cli-process.ts';
import { applyManifests, read, restorable } from './live-support.ts';

const BUSYBOX = 'docker.io/library/busybox:1.36';
const MISSING_IMAGE = 'kubectl-dev.test/missing:1';

const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{name: app, image: ${BUSYBOX}, command: [sleep, "3600"]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{name: db, image: ${BUSYBOX}, command: [sleep, "3600"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: job, image: ${BUSYBOX}, command: [sh, -c, "echo nightly"]}]
`;

const OBJECTS = [
  { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' },
  { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' },
] as const;

function devConfig(ns: string): string {
  return [
    'metadata: {name: shop}',
    `defaults: {image: "${BUSYBOX}"}`,
    'workloads:',
    `  deployment/web: {namespace: ${ns}, sync: {localDir: ./web}, run: 'echo "web says $(cat hello.txt)"; sleep 3600'}`,
    `  statefulset/db: {namespace: ${ns}, sync: {localDir: ./db}, run: 'echo "db says $(cat hello.txt)"; sleep 3600'}`,
    `  cronjob/nightly: {namespace: ${ns}, image: "${MISSING_IMAGE}", sync: {localDir: ./nightly}}`,
  ].join('\n');
}

/** `kubectl exec` in a workload's dev container, without blocking the event loop. */
function execIn(ns: string, target: string, container: string, script: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), 'exec', '-n', ns, target, '-c', container, '--', '/bin/sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

describe('kubectl dev up / down', () => {
  const kc = testKubeConfig();
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let cli: string;
  let env: NodeJS.ProcessEnv;
  const before = new Map<string, unknown>();
  const runs: CliRun[] = [];

  /** The CLI in the project directory (where .kubectl-dev.yaml is), waited for. */
  const devIn = async (args: string[]): Promise<{ code: number | null; out: string; err: string }> => {
    const run = spawnCli(cli, args, { cwd: root, env });
    const code = await run.exited;
    return { code, out: run.out(), err: run.err() };
  };
  const up = (args: string[]) => {
    const run = spawnCli(cli, ['up', '--timeout', '60s', ...args], { cwd: root, env });
    runs.push(run);
    return run;
  };
  const inDevMode = async () => Promise.all(OBJECTS.map(async (o) => (await read(kc, o.apiVersion, o.kind, o.name, ns))?.metadata?.labels?.[DEV_MODE_LABEL] === 'true'));
  const restoredExactly = async () => {
    for (const o of OBJECTS) expect(restorable(await read(kc, o.apiVersion, o.kind, o.name, ns)), o.kind).toEqual(before.get(o.kind));
  };

  beforeAll(async () => {
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'up'));
    root = tempDir('e2e-up');
    fs.chmodSync(root, 0o755);
    cli = await bundleCli(path.join(root, 'kubectl-dev.cjs'));
    for (const [dir, text] of [['web', 'hello-web'], ['db', 'hello-db'], ['nightly', 'hello-nightly']] as const) {
      fs.mkdirSync(path.join(root, dir));
      fs.writeFileSync(path.join(root, dir, 'hello.txt'), `${text}\n`);
    }
    fs.writeFileSync(path.join(root, '.kubectl-dev.yaml'), devConfig(ns));
    env = { ...process.env, KUBECONFIG: testKubeconfigPath(), XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
    applyManifests(ns, MANIFESTS);
    for (const o of OBJECTS) before.set(o.kind, restorable(await read(kc, o.apiVersion, o.kind, o.name, ns)));
  });

  afterAll(async () => {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await devIn(['down', '--force']).catch(() => undefined);
    await removeNs?.();
  });

  it('checks everything before any change: an unknown name, a workload the cluster does not have', async () => {
    const unknown = await devIn(['up', 'web', 'cache']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.err).toContain('not in the dev config .kubectl-dev.yaml: cache');
    fs.writeFileSync(path.join(root, 'extra.yaml'), `${devConfig(ns)}\n  deployment/ghost: {namespace: ${ns}}\n`);
    const ghost = await devIn(['up', '--config', 'extra.yaml']);
    expect(ghost.code).toBe(EXIT.input);
    expect(ghost.err).toMatch(/nothing was changed: \[ghost\] deployment\/ghost not found/);
    expect(await inDevMode()).toEqual([false, false, false]);
    const plans = await devIn(['up', '--dry-run=client']);
    expect(plans.code, plans.err).toBe(0);
    for (const label of ['web', 'db', 'nightly']) expect(plans.out).toContain(`[${label}] `);
    expect(plans.out).toContain('dev.kubectl-dev.io/dev-config-name: shop');
    expect(await inDevMode()).toEqual([false, false, false]);
  });

  it('starts, syncs and runs the two that can start; reports the third with its prefix; Ctrl-C keeps dev mode; status groups; down restores all', async () => {
    const run = up([]);
    await waitFor('both commands running on the synced files', () => /\[web\] web says hello-web/.test(run.out()) && /\[db\] db says hello-db/.test(run.out()), 150_000, 250)
      .catch((error) => { throw new Error(`${error}\n${run.all().slice(-4000)}`); });
    await waitFor('the CronJob\'s failure reported', () => run.err().includes('[nightly] error: '), 90_000, 250);
    expect(run.err()).toMatch(/\[nightly\] error: .*kubectl-dev\.test\/missing:1/);
    // Every line of output has a prefix.
    for (const line of run.all().split('\n').filter((l) => l !== '' && !l.startsWith('using the dev config'))) expect(line).toMatch(/^\[(web|db|nightly|up)\] /);
    // The local files are in each container.
    expect((await execIn(ns, 'deploy/web', 'app', 'cat /workspace/hello.txt')).stdout).toBe('hello-web\n');
    expect((await execIn(ns, 'pod/db-0', 'db', 'cat /workspace/hello.txt')).stdout).toBe('hello-db\n');
    // A change syncs and restarts that workload's command.
    fs.writeFileSync(path.join(root, 'web', 'hello.txt'), 'hello-again\n');
    await waitFor('the change synced and the command restarted', () => /\[web\] web says hello-again/.test(run.out()), 60_000, 250);
    expect(run.child.exitCode).toBe(null);

    const code = await interrupt(run);
    expect(code, run.err()).toBe(EXIT.runtime);
    expect(run.err()).toContain('[up] stopped the commands and syncs; still in dev mode: web, db');
    expect(run.err()).toContain('[up] failed: nightly');
    expect(run.err()).toContain('kubectl dev down ends dev mode');
    expect(await inDevMode()).toEqual([true, true, true]);

    const status = await devIn(['status', '-n', ns, '-o', 'json']);
    expect(status.code, status.err).toBe(0);
    const rows = (JSON.parse(status.out) as { items: StatusRow[] }).items;
    expect(rows.map((r) => [r.kind, r.name, r.config, r.configPath])).toEqual(expect.arrayContaining([
      ['Deployment', 'web', 'shop', path.join(root, '.kubectl-dev.yaml')],
      ['StatefulSet', 'db', 'shop', path.join(root, '.kubectl-dev.yaml')],
      ['CronJob', 'nightly', 'shop', path.join(root, '.kubectl-dev.yaml')],
    ]));
    const table = (await devIn(['status', '-n', ns])).out.split('\n');
    expect(table[0]).toMatch(/^CONFIG\s+KIND\s+NAME/);
    expect(table.filter((l) => /^shop\s/.test(l))).toHaveLength(3);

    const down = await devIn(['down']);
    expect(down.code, down.err).toBe(0);
    expect(down.out).toMatch(/^WORKLOAD\s+KIND\s+NAMESPACE\s+RESULT\n/);
    for (const label of ['web', 'db', 'nightly']) expect(down.out).toMatch(new RegExp(`^${label}\\s.*restored$`, 'm'));
    expect(await inDevMode()).toEqual([false, false, false]);
    await restoredExactly();
  });

  it('--abort-on-failure: the failure stops the others and up ends by itself, non-zero; --wait returns once in sync', async () => {
    const run = up(['--abort-on-failure']);
    const code = await Promise.race([run.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 150_000))]);
    expect(code, run.all().slice(-3000)).toBe(EXIT.runtime);
    expect(run.err()).toContain('[nightly] stopping the other workloads (--abort-on-failure)');
    expect(run.err()).toMatch(/\[up\] failed: nightly/);
    expect(await inDevMode()).toEqual([true, true, true]);

    // The two that can start, in the background: in dev mode already, now in sync with the current files.
    fs.writeFileSync(path.join(root, 'db', 'hello.txt'), 'hello-wait\n');
    const waited = await devIn(['up', 'web', 'sts/db', '--wait', '--timeout', '60s']);
    expect(waited.code, waited.err).toBe(0);
    expect(waited.err).toContain('[up] in dev mode and in sync: web, db; the syncs keep running in the background');
    expect((await execIn(ns, 'pod/db-0', 'db', 'cat /workspace/hello.txt')).stdout).toBe('hello-wait\n');

    const down = await devIn(['down']);
    expect(down.code, down.err).toBe(0);
    expect(down.out).toMatch(/^web\s.*restored$/m);
    await restoredExactly();
    const again = await devIn(['down', 'web']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^web\s.*not in dev mode$/m);
  });

  it('duplicate: true in the dev config: up makes a dev copy (with its own persisted cache) and syncs into it, the original untouched; down deletes the copy', async () => {
    fs.writeFileSync(path.join(root, 'dup.yaml'), [
      `defaults: {image: "${BUSYBOX}"}`,
      'workloads:',
      `  deployment/web: {namespace: ${ns}, duplicate: true, persist: [/cache], sync: {localDir: ./web}}`,
    ].join('\n'));
    fs.writeFileSync(path.join(root, 'web', 'hello.txt'), 'hello-copy\n');
    const waited = await devIn(['up', '--config', 'dup.yaml', '--wait', '--timeout', '60s']);
    expect(waited.code, waited.err).toBe(0);
    const copy = /\[web\] deployment\/web \(deployment\/(\S+), a dev copy; deployment\/web is untouched\) is in dev mode/.exec(waited.err)?.[1];
    expect(copy, waited.err).toBeDefined();
    expect((await execIn(ns, `deploy/${copy}`, 'app', 'cat /workspace/hello.txt')).stdout).toBe('hello-copy\n');
    expect(await inDevMode()).toEqual([false, false, false]);
    await restoredExactly();
    const rows = (JSON.parse((await devIn(['status', '-n', ns, '-o', 'json'])).out) as { items: StatusRow[] }).items;
    expect(rows.find((r) => r.name === copy)?.configPath).toBe(path.join(root, 'dup.yaml'));

    const down = await devIn(['down', '--config', 'dup.yaml']);
    expect(down.code, down.err).toBe(0);
    const claim = persistentClaimName('Deployment', copy!);
    expect(down.out).toMatch(new RegExp(`^web\\s.*dev copy ${copy} deleted; kept PersistentVolumeClaim ${claim}$`, 'm'));
    expect(await read(kc, 'apps/v1', 'Deployment', copy!, ns)).toBeUndefined();
    await restoredExactly();
    const removed = await devIn(['volumes', 'rm', `deployment/${copy}`, '-n', ns]);
    expect(removed.code, removed.err).toBe(0);
  });
});
