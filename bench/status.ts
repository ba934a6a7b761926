// `kubectl dev status -A` with 2,000 Deployments of which 3 in dev mode, as a user runs it (the
// single binary, a whole process) against `kubectl get deployments -A -l <dev-mode label>` (goal:
// ≤ 1.2×); and the status function in-process on a warm connection pool against one labelled LIST.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { DEV_MODE_LABEL } from '../src/core/marks.ts';
import { clusterApi } from '../src/kube/api.ts';
import { reuseConnections } from '../src/kube/config.ts';
import { devModeStatus } from '../src/live/status.ts';
import { kubectlBinary } from '../test/support/binaries.ts';
import { benchCluster, median } from './cluster.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const GOAL = 1.2;

const { kubeconfig, stop } = await benchCluster();
const kubectl = (args: string[], input?: string) => {
  const r = spawnSync(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args], { input: input ?? '', encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

try {
  const namespaces = ['a', 'b', 'c', 'd'].map((n) => `bench-status-${n}-${process.pid}`);
  for (const ns of namespaces) kubectl(['create', 'namespace', ns]);
  // replicas 0: the cost under test is the API server's, not KWOK's pods.
  const docs = Array.from({ length: DEPLOYMENTS }, (_, i) => stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `app-${i}`, namespace: namespaces[i % namespaces.length], labels: { app: `app-${i}` } },
    spec: { replicas: 0, selector: { matchLabels: { app: `app-${i}` } }, template: { metadata: { labels: { app: `app-${i}` } }, spec: { containers: [{ name: 'app', image: 'docker.io/library/busybox:1.36' }] } } },
  }));
  for (let i = 0; i < docs.length; i += 500) kubectl(['create', '-f', '-'], docs.slice(i, i + 500).join('---\n'));
  for (const i of [1, 2, 3]) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'kubectl-dev.cjs'), 'start', `deploy/app-${i}`, '-n', namespaces[i % namespaces.length]!, '--no-sync', '-q'], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig } });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  // As the CLI does (and for the baseline too): one connection pool for the process.
  const api = clusterApi(reuseConnections(kc));
  const baselineList = () => api.list('apps/v1', 'Deployment', undefined, { label: `${DEV_MODE_LABEL}=true` });
  const status = () => devModeStatus({ namespace: undefined }, api);
  const rows = await status();
  const inBench = rows.filter((r) => namespaces.includes(r.namespace));
  if (inBench.length !== 3) throw new Error(`expected 3 workloads in dev mode, got ${inBench.length}`);
  if (rows.length !== 3) console.log(`note: the cluster has ${rows.length - 3} more workloads in dev mode outside this benchmark`);
  await baselineList();
  const base: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    await baselineList();
    base.push(performance.now() - t);
    t = performance.now();
    await status();
    ours.push(performance.now() - t);
  }
  // Whole processes, alternating: the binary if it is built (as the user has it), else the bundle under node.
  const sea = join(ROOT, 'dist', 'kubectl-dev');
  const [file, pre] = existsSync(sea) ? [sea, []] : [process.execPath, [join(ROOT, 'bin', 'kubectl-dev.cjs')]];
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const timed = (cmd: string, args: string[]) => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return performance.now() - t;
  };
  const cliOurs: number[] = [];
  const cliBase: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    cliBase.push(timed(kubectlBinary(), ['get', 'deployments', '-A', '-l', `${DEV_MODE_LABEL}=true`, '-o', 'name']));
    cliOurs.push(timed(file, [...pre, 'status', '-A']));
  }
  const cb = median(cliBase);
  const co = median(cliOurs);
  const cliRatio = co / cb;
  const b = median(base);
  const o = median(ours);
  const ratio = o / b;
  console.log(`one labelled LIST of Deployments: median ${b.toFixed(1)} ms`);
  console.log(`status function (sync Secrets + dev pods, GETs only where needed): median ${o.toFixed(1)} ms`);
  console.log(`kubectl dev status -A, a process: median ${co.toFixed(1)} ms; kubectl get deployments -A -l: median ${cb.toFixed(1)} ms`);
  console.log('');
  console.log('| measure | kubectl-dev | baseline | ratio | goal |');
  console.log('|---|---|---|---|---|');
  console.log(`| \`kubectl dev status -A\`, ${DEPLOYMENTS} Deployments, 3 in dev mode, process start to exit (median of ${RUNS}) | ${co.toFixed(1)} ms | ${cb.toFixed(1)} ms (\`kubectl get deployments -A -l\`) | ${cliRatio.toFixed(2)}× | ≤ ${GOAL}× ${cliRatio <= GOAL ? 'met' : 'NOT met'} |`);
  console.log(`| status function in-process, warm connection pool (median of ${RUNS}) | ${o.toFixed(1)} ms | ${b.toFixed(1)} ms (one labelled LIST, same pool) | ${ratio.toFixed(2)}× | |`);
  for (const ns of namespaces) kubectl(['delete', 'namespace', ns, '--wait=false']);
} finally {
  await stop();
}
