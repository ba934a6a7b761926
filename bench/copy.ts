// The initial copy's transport alone (seed.ts: tar stream → exec v4 → API server → kubelet →
// `dd | tar -x` in the product's sidecar container of a real dev pod), into the pod's work dir
// (its emptyDir), against `tar c | tar x` of the same tree onto the same disk in the same run;
// with the CPU each process used. For tuning the copy (frame size, masking); the end-to-end
// figure is bench/sync.ts. No goal of its own: the ratio is printed for comparison between builds.
//
// The dev pod is the one `kubectl dev start --no-sync` makes (default sidecar image) on the test
// cluster's real node; the sidecar's folder is paused for the run, so its syncthing's scans stay
// out of the transport's figures (a sync turns the sidecar's watcher off during its copy).
//
//   node bench/copy.ts [--runs=5] [--dir=TREE] [--to=DIR (tar's target; default: a temp dir)] [--settle=S (10)] [--kubeconfig=PATH --cluster-dir=DIR]
//   (without --kubeconfig or $KUBECONFIG_TEST, a cluster with a real node is started and stopped)
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { SIDECAR_CONTAINER } from '../src/core/marks.ts';
import { clientNodeExec } from '../src/kube/exec.ts';
import { planCopy, seedContainer, seedEntries } from '../src/sync/copy/index.ts';
import { BUSYBOX_IMAGE } from '../test/cluster/images.ts';
import { bundleCli } from '../test/e2e/cli-process.ts';
import { execInAsync } from '../test/support/pods.ts';
import { benchCluster } from './cluster.ts';
import { cpuSampler } from './cpu.ts';
import { WORKDIR, pauseSidecarFolder, startDevWorkload, useForHelpers } from './real-sidecar.ts';
import { makeTree } from './tree.ts';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 5);
const shm = fs.mkdtempSync('/dev/shm/kubectl-dev-copy-');
const toArg = process.argv.find((a) => a.startsWith('--to='))?.slice('--to='.length);
/** Before each timed copy (ours and tar's): the disk synced, then quiet (writing right after deleting 115 MB is 2–4× slower here, see bench/sync.ts). */
const SETTLE_MS = Number(process.argv.find((a) => a.startsWith('--settle='))?.split('=')[1] ?? 10) * 1000;
const settle = () => {
  execSync('sync');
  return new Promise((r) => setTimeout(r, SETTLE_MS));
};
const to = fs.mkdtempSync(path.join(toArg ? path.resolve(toArg) : os.tmpdir(), 'kubectl-dev-copy-'));

async function inSidecar(namespace: string, pod: string, script: string): Promise<void> {
  const r = await execInAsync(namespace, pod, SIDECAR_CONTAINER, ['sh', '-c', script]);
  if (r.code !== 0) throw new Error(`${script} in ${pod}'s sidecar: exit ${r.code}: ${r.stderr}`);
}

async function main() {
  const cluster = await benchCluster({ realNode: true });
  if (!cluster.realNode) throw new Error('this benchmark copies into a real dev pod: the cluster has no Ready real node (kubectl-dev.test/real-node=true)');
  useForHelpers(cluster);
  const clusterDir = cluster.dir ?? path.dirname(cluster.kubeconfig);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const tree = process.argv.find((a) => a.startsWith('--dir='))?.split('=')[1] ?? (makeTree(path.join(shm, 'tree')), path.join(shm, 'tree'));
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: cluster.kubeconfig, XDG_CONFIG_HOME: path.join(shm, 'config'), NO_COLOR: '1' };
  delete env.KUBECONFIG_TEST;
  // `start` is not what is measured here: the sources bundled (seconds), not the single binary (minutes when stale).
  const cli = await bundleCli(path.join(shm, 'kubectl-dev.cjs'));
  const dev = await startDevWorkload({ kc, prefix: 'bench-copy', cli: [process.execPath, cli], env, image: BUSYBOX_IMAGE, cwd: shm });
  try {
    await pauseSidecarFolder(dev.namespace, dev.pod);
    const plan = planCopy(tree, seedEntries(tree, () => false));
    const exec = clientNodeExec(kc);
    const procs: Record<string, (comm: string, cmd: string) => boolean> = {
      node: (_c, cmd) => cmd.includes('bench/copy.ts'),
      apiserver: (_c, cmd) => cmd.includes('kube-apiserver') && cmd.includes(clusterDir),
      kubelet: (c, cmd) => c === 'kubelet' && cmd.includes(clusterDir),
      'containerd + shims': (c, cmd) => c.startsWith('containerd') && cmd.includes(clusterDir),
      'dd | tar (exec)': (_c, cmd) => cmd.startsWith('tar -x -o') || cmd.startsWith('dd bs='),
    };
    const sameDisk = fs.statSync(to).dev === fs.statSync(clusterDir).dev;
    const rows: string[] = [`copy into ${dev.pod}:${WORKDIR} (sidecar ${dev.sidecarVersion}, node ${cluster.realNode}); tar into ${to} (${sameDisk ? 'the same disk as the pod\'s emptyDir' : 'NOT the disk of the pod\'s emptyDir'}); tree ${plan.files} files, ${(plan.bytes / 1e6).toFixed(0)} MB from ${tree}`];
    process.stderr.write(`${rows[0]}\n`);
    const copies: number[] = [];
    const tars: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const out = `${WORKDIR}/out-${run}`;
      await inSidecar(dev.namespace, dev.pod, `mkdir ${out}`);
      await settle();
      const cpu = cpuSampler(procs);
      const t0 = performance.now();
      await seedContainer({ exec, namespace: dev.namespace, pod: dev.pod, container: SIDECAR_CONTAINER, workdir: out, root: tree, plan });
      const ms = performance.now() - t0;
      const totals = cpu.stop();
      const used = Object.keys(procs).map((k) => `${k} ${(totals[k] ?? 0).toFixed(2)}`).join(', ');
      await inSidecar(dev.namespace, dev.pod, `rm -rf ${out}`);
      const tarOut = path.join(to, `tar-${run}`);
      fs.mkdirSync(tarOut);
      await settle();
      const t1 = performance.now();
      execSync(`tar -C ${JSON.stringify(tree)} -cf - . | tar -C ${JSON.stringify(tarOut)} -xf -`);
      const tarMs = performance.now() - t1;
      fs.rmSync(tarOut, { recursive: true });
      copies.push(ms);
      tars.push(tarMs);
      rows.push(`run ${run}: copy ${ms.toFixed(0)} ms, tar ${tarMs.toFixed(0)} ms (${(ms / tarMs).toFixed(1)}×); CPU s: ${used}`);
      process.stderr.write(`${rows.at(-1)}\n`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratios = copies.map((c, i) => c / tars[i]!);
    rows.push(`median: copy ${median(copies).toFixed(0)} ms, tar ${median(tars).toFixed(0)} ms; median ratio ${median(ratios).toFixed(1)}× (per run: ${ratios.map((r) => r.toFixed(1)).join(', ')})`);
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    await dev.remove();
    await cluster.stop();
    fs.rmSync(shm, { recursive: true, force: true });
    fs.rmSync(to, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  fs.rmSync(shm, { recursive: true, force: true });
  fs.rmSync(to, { recursive: true, force: true });
  process.exitCode = 1;
});
