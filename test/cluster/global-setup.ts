// vitest globalSetup of the e2e project: one test control plane per run.
// - KUBECONFIG_TEST set: use that cluster, start nothing.
// - else: build if needed, start a cluster with its real node (KUBECTL_DEV_TEST_NODES=kwok:
//   KWOK nodes only, for machines that cannot run one) in .testcluster/vitest-<pid>/, expose
//   its kubeconfig (process.env.KUBECONFIG_TEST and inject('kubeconfig'), see
//   test/support/cluster.ts), and tear it down at the end — also on failure,
//   Ctrl-C or SIGTERM (signal handlers); if the runner is SIGKILLed the
//   components die with it (PR_SET_PDEATHSIG, see main.go).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from './build.lib.ts';
import { clusterProcesses, killProcessesSync, startCluster, stopCluster } from './cluster.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const existing = process.env.KUBECONFIG_TEST;
  if (existing) {
    if (!fs.existsSync(existing)) throw new Error(`KUBECONFIG_TEST=${existing}: no such file`);
    project.provide('kubeconfig', existing);
    return undefined;
  }

  const base = path.join(repoRoot, '.testcluster');
  await removeStaleRuns(base);
  const dir = path.join(base, `vitest-${process.pid}`);
  let stopped = false;
  const emergency = () => {
    if (stopped) return;
    stopped = true;
    killProcessesSync(clusterProcesses(dir));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    emergency();
    // Keep the default behaviour (exit) unless someone else handles the signal too.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);
  process.once('exit', emergency);
  const unhook = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', emergency);
  };

  let cluster;
  try {
    cluster = await startCluster({
      dir,
      owned: true,
      // With the real node, no KWOK node: a pod that tolerates every taint could land on one.
      ...(process.env.KUBECTL_DEV_TEST_NODES === 'kwok' ? { realNode: false } : { realNode: true, nodes: 0 }),
      log: (l) => process.stderr.write(`[test cluster] ${l}\n`),
    });
  } catch (e) {
    unhook();
    emergency();
    throw e;
  }
  process.env.KUBECONFIG_TEST = cluster.kubeconfigPath;
  project.provide('kubeconfig', cluster.kubeconfigPath);

  return async () => {
    unhook();
    if (stopped) return;
    stopped = true;
    await stopCluster(dir);
  };
}

/** Run directories of earlier test runs whose runner died without teardown (e.g. SIGKILL). */
async function removeStaleRuns(base: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(base);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = /^vitest-(\d+)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) await stopCluster(path.join(base, name));
  }
}
