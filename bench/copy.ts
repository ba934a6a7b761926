// The initial copy's transport alone (seed.ts: tar stream → exec → API server →
// KWOK → `tar -x`), into a tmpfs so the disk stays out of it, against `tar c | tar x`
// into the same tmpfs in the same run; with the CPU each process used. For tuning
// the copy (frame size, masking); the end-to-end figure is bench/sync.ts.
//
//   KUBECONFIG_TEST=… node bench/copy.ts [--runs=5] [--dir=TREE] [--to=DIR (default: a tmpfs)]
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { clientNodeExec, planCopy, seedContainer, seedEntries } from '../src/sync/seed.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../test/support/cluster.ts';
import { execLocally } from '../test/support/kwok.ts';
import { makeTree } from './tree.ts';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 5);
const shm = fs.mkdtempSync('/dev/shm/kubectl-dev-copy-');
const toArg = process.argv.find((a) => a.startsWith('--to='))?.slice('--to='.length);
const to = toArg ? fs.mkdtempSync(path.join(path.resolve(toArg), 'kubectl-dev-copy-')) : shm;

/** CPU seconds (user + system) of processes whose command line matches, from /proc. */
function cpuOf(match: (cmd: string) => boolean): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!match(cmd)) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* gone */
    }
  }
  return ticks / 100;
}

async function main() {
  const kc = testKubeConfig();
  const clusterDir = path.dirname(process.env.KUBECONFIG_TEST!);
  const tree = process.argv.find((a) => a.startsWith('--dir='))?.split('=')[1] ?? (makeTree(path.join(shm, 'tree')), path.join(shm, 'tree'));
  const ns = await createTestNamespace(kc, 'bench-copy');
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedPod({ namespace: ns.name, body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  await waitFor('pod running', async () => (await core.readNamespacedPod({ namespace: ns.name, name: 'p' })).status?.phase === 'Running');
  const undo = await execLocally(kc, { namespace: ns.name, pod: 'p' });
  const plan = planCopy(tree, seedEntries(tree, () => false));
  const exec = clientNodeExec(kc);
  const procs = {
    node: (c: string) => c.includes('bench/copy.ts'),
    apiserver: (c: string) => c.includes('kube-apiserver') && c.includes(clusterDir),
    kwok: (c: string) => c.includes('kwok') && c.includes(clusterDir),
    'tar (exec)': (c: string) => c.startsWith('tar -x -o') || c.startsWith('dd bs='),
  };
  const rows: string[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const out = path.join(to, `out-${run}`);
    fs.mkdirSync(out);
    const before = Object.fromEntries(Object.entries(procs).map(([k, m]) => [k, cpuOf(m)]));
    const t0 = performance.now();
    await seedContainer({ exec, namespace: ns.name, pod: 'p', container: 'c', workdir: out, root: tree, plan });
    const ms = performance.now() - t0;
    const used = Object.entries(procs).map(([k, m]) => `${k} ${(cpuOf(m) - before[k]!).toFixed(2)}`).join(', ');
    fs.rmSync(out, { recursive: true });
    const tarOut = path.join(to, `tar-${run}`);
    fs.mkdirSync(tarOut);
    const t1 = performance.now();
    execSync(`tar -C ${JSON.stringify(tree)} -cf - . | tar -C ${JSON.stringify(tarOut)} -xf -`);
    const tarMs = performance.now() - t1;
    fs.rmSync(tarOut, { recursive: true });
    rows.push(`run ${run}: copy ${ms.toFixed(0)} ms, tar ${tarMs.toFixed(0)} ms (${(ms / tarMs).toFixed(1)}×); CPU s: ${used}`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  await undo();
  await ns.remove();
  fs.rmSync(shm, { recursive: true, force: true });
  fs.rmSync(to, { recursive: true, force: true });
  process.stdout.write(`${rows.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  fs.rmSync(shm, { recursive: true, force: true });
  process.exitCode = 1;
});
