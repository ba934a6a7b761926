// Helm 3.17 and Helm 4.1 install the "shop" chart with kubectl-dev as post-renderer
// into the test control plane: the dev pods run on the real node, the dev container with
// node:24 and the dev command, the sidecar waiting for the sync Secret (which `kubectl dev
// sync` creates later); `helm upgrade` with the same values changes no workload
// (resourceVersion unchanged, the output is byte-identical); `helm uninstall` removes
// everything, the generated dev Job and the dev pods included.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sidecarScript } from '../../src/core/pod.ts';
import { DEFAULT_COMMAND, DEFAULT_SIDECAR_IMAGE } from '../../src/core/settings.ts';
import { CHARTS, helmSetup, run, type HelmSetup } from '../cli/render-support.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { execIn } from '../support/pods.ts';
import { followUntilGone, logsOf } from './live-support.ts';

const SHOP = join(CHARTS, 'shop');

/** A command that does not block this process (which follows the pods meanwhile). */
function runAsync(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe.each([3, 4] as const)('helm %i install/upgrade/uninstall with kubectl-dev render', (major) => {
  let helm: HelmSetup;
  let kc: k8s.KubeConfig;
  let apps: k8s.AppsV1Api;
  let batch: k8s.BatchV1Api;
  let core: k8s.CoreV1Api;
  let ns: { name: string; remove: () => Promise<void> };
  const release = 'demo';
  // Dev mode through values (the opt-in annotation) for the Deployment, --select for the CronJob.
  const valuesArgs = ['--set', 'dev=true', '--set', 'image=registry.example/shop:0.9.0'];
  const helmRun = (args: string[]) => {
    const r = run(helm.bin, [...args, '--kubeconfig', testKubeconfigPath(), '-n', ns.name], { env: helm.env, timeout: 240_000 });
    if (r.code !== 0) throw new Error(`helm ${major} ${args[0]} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  };
  // --no-hooks: the chart's pre-install/pre-upgrade hook runs the app image's `migrate`, which
  // no image on the node has (dev mode leaves hooks alone: test/cli/render-helm.test.ts).
  const install = (verb: 'install' | 'upgrade') =>
    helmRun([verb, release, SHOP, ...valuesArgs, ...helm.postRenderer(['--select=cj/demo-report', '--image=node:24']), '--no-hooks', '--wait', '--timeout', '3m']);

  beforeAll(async () => {
    helm = helmSetup(major);
    kc = testKubeConfig();
    apps = kc.makeApiClient(k8s.AppsV1Api);
    batch = kc.makeApiClient(k8s.BatchV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createTestNamespace(kc, `render-helm${major}`);
  });

  afterAll(async () => {
    await ns?.remove();
  });

  it('install: the dev pod runs with the sync sidecar, before any sync Secret exists', async () => {
    const out = install('install');
    // NOTES are rendered from values as usual.
    expect(out).toContain('Dev mode is on: run `kubectl dev sync deployment/demo-shop`');

    const deployment = await apps.readNamespacedDeployment({ name: 'demo-shop', namespace: ns.name });
    expect(deployment.metadata?.labels?.['dev.kubectl-dev.io/dev-mode']).toBe('true');
    expect(deployment.spec?.replicas).toBe(1);
    const secretVolume = deployment.spec?.template.spec?.volumes?.find((v) => v.name === 'kubectl-dev-syncthing-secret');
    expect(secretVolume?.secret).toMatchObject({ secretName: 'demo-shop-deployment-dev-sync', optional: true });

    const pod = await waitFor('the dev pod Running with both containers ready', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'dev.kubectl-dev.io/workload=deployment.demo-shop' });
      return pods.items.find((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.length === 2 && p.status.containerStatuses.every((c) => c.ready));
    }, 90_000);
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['shop', 'kubectl-dev-sync']);
    expect(pod.spec?.containers[0]).toMatchObject({ image: 'node:24', command: [...DEFAULT_COMMAND], workingDir: '/workspace' });
    expect(pod.spec?.containers[1]).toMatchObject({ image: DEFAULT_SIDECAR_IMAGE, command: ['/bin/sh', '-c', sidecarScript()] });
    await expect(core.readNamespacedSecret({ name: 'demo-shop-deployment-dev-sync', namespace: ns.name })).rejects.toMatchObject({ code: 404 });
    // Really running on the real node: the dev container is node:24 under the dev command, and
    // the sidecar runs the product's script, waiting for the Secret.
    const podName = pod.metadata!.name!;
    for (const name of ['shop', 'kubectl-dev-sync']) expect(pod.status?.containerStatuses?.find((c) => c.name === name)?.state?.running, name).toBeDefined();
    const inDev = execIn(ns.name, podName, 'shop', ['sh', '-c', 'node -e "console.log(process.version)"; cat /proc/1/cmdline']);
    const [version, cmdline] = inDev.stdout.split('\n');
    expect(version, inDev.stderr).toMatch(/^v24\.\d+\.\d+$/);
    expect(cmdline).toBe(`${DEFAULT_COMMAND.join('\0')}\0`);
    await waitFor('the sidecar to say it waits for the sync Secret', () => logsOf(ns.name, podName, 'kubectl-dev-sync').includes('waiting for the dev sync Secret (run: kubectl dev sync)'), 60_000, 500);
    expect(execIn(ns.name, podName, 'kubectl-dev-sync', ['cat', '/proc/1/cmdline']).stdout).toBe(`/bin/sh\0-c\0${sidecarScript()}\0`);

    // The CronJob is suspended and its dev Job runs the dev pod; the hook ran as the chart says.
    const cron = await batch.readNamespacedCronJob({ name: 'demo-report', namespace: ns.name });
    expect(cron.spec?.suspend).toBe(true);
    const devJob = await batch.readNamespacedJob({ name: 'demo-report-dev', namespace: ns.name });
    expect(devJob.metadata?.annotations?.['dev.kubectl-dev.io/generated-for']).toBe('CronJob/demo-report');
    expect(devJob.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(release);
    await waitFor('the dev Job\'s pod running with both containers ready', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'dev.kubectl-dev.io/workload=cronjob.demo-report' });
      return pods.items.find((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.length === 2 && p.status.containerStatuses.every((c) => c.ready));
    }, 90_000);
  });

  it('upgrade with the same values changes no workload', async () => {
    // Controllers update status (the dev Job counts its ready pod): wait until nothing moves.
    let last = '';
    const before = await waitFor('the workloads to settle', async () => {
      const now = await resourceVersions();
      const same = JSON.stringify(now) === last;
      last = JSON.stringify(now);
      if (!same) await new Promise((r) => setTimeout(r, 1500));
      return same ? now : undefined;
    }, 60_000, 0);
    const manifest = helmRun(['get', 'manifest', release]);
    install('upgrade');
    expect(helmRun(['get', 'manifest', release])).toBe(manifest);
    expect(await resourceVersions()).toEqual(before);
  });

  it('uninstall removes everything, the generated dev Job included; the dev pods stop at once', async () => {
    // The Deployment's dev pod, whose sidecar still waits for the Secret: PID 1 is its script.
    const devPod = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'dev.kubectl-dev.io/workload=deployment.demo-shop' })).items[0]!.metadata!.name!;
    const stopped = followUntilGone(kc, ns.name, devPod);
    const uninstalled = await runAsync(helm.bin, ['uninstall', release, '--wait', '--timeout', '2m', '--kubeconfig', testKubeconfigPath(), '-n', ns.name], helm.env);
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    const termination = await stopped;
    expect(termination.terminatingMs, `the dev pod took ${termination.terminatingMs} ms to stop (grace period ${termination.gracePeriodSeconds} s)`).toBeLessThan(10_000);
    await waitFor('the release objects to be gone', async () => {
      const [d, c, j, s, cm] = await Promise.all([
        apps.listNamespacedDeployment({ namespace: ns.name }),
        batch.listNamespacedCronJob({ namespace: ns.name }),
        batch.listNamespacedJob({ namespace: ns.name }),
        core.listNamespacedService({ namespace: ns.name }),
        core.listNamespacedConfigMap({ namespace: ns.name, labelSelector: 'app.kubernetes.io/instance=demo' }),
      ]);
      return d.items.length + c.items.length + j.items.length + s.items.length + cm.items.length === 0;
    }, 60_000);
    await waitFor('the dev pods to be gone', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'dev.kubectl-dev.io/workload' });
      return pods.items.length === 0;
    }, 90_000);
  });

  async function resourceVersions(): Promise<Record<string, string | undefined>> {
    const [d, c, j, s] = await Promise.all([
      apps.readNamespacedDeployment({ name: 'demo-shop', namespace: ns.name }),
      batch.readNamespacedCronJob({ name: 'demo-report', namespace: ns.name }),
      batch.readNamespacedJob({ name: 'demo-report-dev', namespace: ns.name }),
      core.readNamespacedService({ name: 'demo-shop', namespace: ns.name }),
    ]);
    return {
      deployment: d.metadata?.resourceVersion,
      deploymentGeneration: String(d.metadata?.generation),
      cronjob: c.metadata?.resourceVersion,
      devJob: j.metadata?.resourceVersion,
      devJobGeneration: String(j.metadata?.generation),
      service: s.metadata?.resourceVersion,
    };
  }
});
