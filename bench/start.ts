// Time from `kubectl dev start --no-sync` to the dev pod Ready, against the same change made by
// `kubectl patch --type json` + `kubectl rollout status` in the same run (goal: ≤ 1.5×).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import jsonPatch from 'fast-json-patch';
import { stringify } from 'yaml';
import { enter } from '../src/core/enter.ts';
import { parseWorkloadRef } from '../src/core/kinds.ts';
import { ensureBinary } from '../test/cli/binary-support.ts';
import { kubectlBinary } from '../test/support/binaries.ts';
import { benchCluster, median } from './cluster.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const GOAL = 1.5;

const { kubeconfig, stop } = await benchCluster();
const kubectl = (args: string[], input?: string) => {
  const r = spawnSync(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args], { input: input ?? '', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
// --cli=FILE, else the shipped single binary, built first when missing or older than the sources
// (KUBECTL_DEV_BENCH_BUNDLE=1: the bundle on Node 24 instead).
const cliArg = process.argv.slice(2).find((a) => a.startsWith('--cli='))?.slice('--cli='.length);
const BINARY = cliArg ? resolve(cliArg) : process.env.KUBECTL_DEV_BENCH_BUNDLE ? '' : await ensureBinary();
const command = BINARY && existsSync(BINARY) ? [BINARY] : [process.execPath, join(ROOT, 'bin', 'kubectl-dev.cjs')];
console.log(`kubectl-dev: ${command.join(' ')}`);
const dev = (args: string[]) => {
  const r = spawnSync(command[0]!, [...command.slice(1), ...args], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig } });
  if (r.status !== 0) throw new Error(`kubectl-dev ${args.join(' ')}: ${r.stderr}`);
};
const timed = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

try {
  const ns = `bench-start-${process.pid}`;
  kubectl(['create', 'namespace', ns]);
  const deployment = (name: string) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'docker.io/library/busybox:1.36', command: ['httpd', '-f', '-p', '80'], ports: [{ containerPort: 80 }], readinessProbe: { tcpSocket: { port: 80 } } }] } } },
  });
  const names = Array.from({ length: RUNS }, (_, i) => i);
  kubectl(['create', '-n', ns, '-f', '-'], names.flatMap((i) => [stringify(deployment(`base-${i}`)), stringify(deployment(`dev-${i}`))]).join('---\n'));
  kubectl(['wait', '-n', ns, '--for=condition=Available', 'deployment', '--all', '--timeout=120s']);

  const baseline: number[] = [];
  const ours: number[] = [];
  for (const i of names) {
    // The baseline makes exactly the change start makes (computed by the same rewrite), as kubectl would.
    const live = JSON.parse(kubectl(['get', 'deployment', `base-${i}`, '-n', ns, '-o', 'json']));
    const [devObject] = enter([live], { targets: [parseWorkloadRef(`deploy/base-${i}`)], settings: { image: 'docker.io/library/busybox:1.36' } });
    const patch = JSON.stringify(jsonPatch.compare(live, devObject!));
    baseline.push(timed(() => {
      kubectl(['patch', 'deployment', `base-${i}`, '-n', ns, '--type', 'json', '-p', patch]);
      kubectl(['rollout', 'status', `deployment/base-${i}`, '-n', ns, '--timeout=120s']);
    }));
    ours.push(timed(() => dev(['start', `deploy/dev-${i}`, '-n', ns, '--no-sync', '-q', '--image', 'docker.io/library/busybox:1.36'])));
  }
  kubectl(['delete', 'namespace', ns, '--wait=false']);
  const b = median(baseline);
  const o = median(ours);
  const ratio = o / b;
  console.log(`kubectl patch + rollout status: ${baseline.map((t) => t.toFixed(0)).join(', ')} ms`);
  console.log(`kubectl dev start --no-sync:     ${ours.map((t) => t.toFixed(0)).join(', ')} ms`);
  console.log('');
  console.log('| measure | kubectl-dev | baseline | ratio | goal |');
  console.log('|---|---|---|---|---|');
  console.log(`| start --no-sync → dev pod Ready (median of ${RUNS}) | ${o.toFixed(0)} ms | ${b.toFixed(0)} ms (kubectl patch + rollout status) | ${ratio.toFixed(2)}× | ≤ ${GOAL}× ${ratio <= GOAL ? 'met' : 'NOT met'} |`);
} finally {
  await stop();
}
