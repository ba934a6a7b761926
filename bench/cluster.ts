// A test control plane for a benchmark: an existing one when given (--kubeconfig=PATH, else
// $KUBECONFIG_TEST; its run directory --cluster-dir=DIR, else the kubeconfig's directory, is
// where a real node's containerd socket is found), else a fresh one in a temp dir, stopped when
// the benchmark ends (also on Ctrl-C). A fresh one has KWOK nodes only unless the benchmark asks
// for the real node (sync, copy and hot-reload do: they run the product's dev pod and sidecar).

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startCluster, stopCluster } from '../test/cluster/cluster.ts';
import { REAL_NODE_LABEL } from '../test/cluster/node.ts';

export interface BenchCluster {
  kubeconfig: string;
  /** The cluster's run directory (with node/record.json when it has a real node), when known. */
  dir: string | undefined;
  /** The real node's name, when the cluster has one that is Ready. */
  realNode: string | undefined;
  /** Whether this benchmark started the cluster (and stops it). */
  owned: boolean;
  stop: () => Promise<void>;
}

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

async function readyRealNode(kubeconfig: string): Promise<string | undefined> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const nodes = await kc.makeApiClient(k8s.CoreV1Api).listNode({ labelSelector: `${REAL_NODE_LABEL}=true` });
  return nodes.items.find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))?.metadata?.name;
}

export async function benchCluster(opts: { realNode?: boolean } = {}): Promise<BenchCluster> {
  const given = flag('kubeconfig') ?? process.env.KUBECONFIG_TEST;
  if (given) {
    const kubeconfig = resolve(given);
    const dirFlag = flag('cluster-dir');
    const dir = dirFlag ? resolve(dirFlag) : existsSync(join(dirname(kubeconfig), 'state.json')) ? dirname(kubeconfig) : undefined;
    return { kubeconfig, dir, realNode: await readyRealNode(kubeconfig), owned: false, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-bench-'));
  const cluster = await startCluster({
    dir, owned: true,
    ...(opts.realNode ? { realNode: true, nodes: 0, log: (l: string) => process.stderr.write(`[cluster] ${l}\n`) } : { realNode: false, log: () => {} }),
  });
  const stop = () => stopCluster(dir);
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  return { kubeconfig: cluster.kubeconfigPath, dir, realNode: cluster.realNode, owned: true, stop };
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
