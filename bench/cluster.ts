// A test control plane for a benchmark: $KUBECONFIG_TEST when set, else a fresh one in a temp
// dir, stopped when the benchmark ends (also on Ctrl-C).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, stopCluster } from '../test/cluster/cluster.ts';

export async function benchCluster(): Promise<{ kubeconfig: string; stop: () => Promise<void> }> {
  if (process.env.KUBECONFIG_TEST) return { kubeconfig: process.env.KUBECONFIG_TEST, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-bench-'));
  const cluster = await startCluster({ dir, owned: true, log: () => {} });
  const stop = () => stopCluster(dir);
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  return { kubeconfig: cluster.kubeconfigPath, stop };
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
