// Benchmark of the sync path, each figure against its baseline in the same run:
//
//  1. Save-to-container latency of a small file, 50 saves: the whole path
//     (kubectl-dev's watcher → local syncthing → port-forward → API server → kubelet
//     → the dev pod's syncthing sidecar) against the same two syncthings with syncthing's own
//     watcher at fsWatcherDelayS=1. The arrival is seen in the dev container (node:24) by a
//     poller that prints its clock, which is this machine's (bench/real-sidecar.ts).
//  2. Initial sync of 5,000 × 2 KB files in 200 directories plus 20 × 5 MB files
//     through the same path, against `tar c | tar x` of the same tree on the same disk as the
//     pod's emptyDir; also with syncthing alone (a user without pods/exec: no tar through exec; bench/no-exec.ts).
//  3. Peak RSS of the kubectl-dev process while it syncs.
//
// kubectl-dev runs as users run it: the shipped single binary (krew installs it), as a child process
// (`kubectl dev sync`). The cluster is the e2e test control plane with its real node (kubelet,
// containerd, runc): $KUBECONFIG_TEST or --kubeconfig, or one started here (bench/cluster.ts). The
// workload enters dev mode with `kubectl dev start --no-sync`: its dev pod runs the product's
// sidecar from the default image (docker.io/syncthing/syncthing:1.29.2); a fresh sidecar is a
// replaced dev pod (new emptyDirs).
//
//   node bench/sync.ts [--saves=50] [--files=5000] [--dirs=200] [--big=20] [--big-mb=5] [--gap-ms=600] [--settle=30] [--cli=FILE]
//   node bench/sync.ts --only=initial [--runs=5] [--compare | --ab=NAME=VALUE] [--timeline] [--wait]   the initial sync alone, with where the CPU went
//   … [--sidecar-image=IMAGE]   another sidecar image the node has (kubectl-dev.test/syncthing:1.19.2: syncthing 1.19)
//   … [--kubeconfig=PATH --cluster-dir=DIR]   a running test cluster (default $KUBECONFIG_TEST)
import { execSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { build } from 'esbuild';
import { cacheDir } from '../src/sync/binary.ts';
import { stopLocalSync } from '../src/sync/index.ts';
import { readLock, statePaths } from '../src/sync/state.ts';
import { SYNCTHING_HOME } from '../src/core/settings.ts';
import { NODE_IMAGE } from '../test/cluster/images.ts';
import { tempDir } from '../test/unit/sync/support.ts';
import { ensureBinary } from '../test/cli/binary-support.ts';
import { benchCluster } from './cluster.ts';
import { DEV_CONTAINER, WORKDIR, arrivalProbe, countFilesIn, startDevWorkload, useForHelpers, wallNow, type ArrivalProbe, type DevWorkload } from './real-sidecar.ts';
import { cpuSampler } from './cpu.ts';
import { makeTree as makeTreeOf } from './tree.ts';
import { kubeconfigWithoutExec } from './no-exec.ts';

const makeTree = (dir: string) => makeTreeOf(dir, { files: FILES, dirs: DIRS, big: BIG, bigMb: BIG_MB });

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const SAVES = arg('saves', 50);
const FILES = arg('files', 5000);
const DIRS = arg('dirs', 200);
const BIG = arg('big', 20);
const BIG_MB = arg('big-mb', 5);
/** Between saves: longer than syncthing's 250 ms index batching and its watcher's 1 s delay + aggregation. */
const GAP_MS = arg('gap-ms', 600);
const BASELINE_GAP_MS = 2_500;
/**
 * `--sidecar-image=IMAGE`: the dev pod's sidecar from this image instead of the product's default
 * (`kubectl dev start --sidecar-image`); the node has kubectl-dev.test/syncthing:1.19.2 (syncthing 1.19).
 */
const SIDECAR_IMAGE = process.argv.find((a) => a.startsWith('--sidecar-image='))?.slice('--sidecar-image='.length);
/** `--only=initial`: only the initial sync (see initialOnly). */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.split('=')[1];
const RUNS = arg('runs', 1);
/**
 * Before each timed copy of the tree (ours and tar's): whatever is to be deleted is
 * deleted, the disk is synced, and then nothing happens for a while. On this
 * machine's disk, writing right after deleting 115 MB is 2–4× slower than after a
 * quiet half minute (measured: tar 2.5–2.9 s right after `rm -rf` of the previous
 * copy, 1.0–1.2 s with `rm; sync; sleep 30` first), which made whichever side came
 * second after a deletion look slow. The page cache here shrinks by itself (~3 MB/s
 * with 23 GB free), so what the timed run reads is read once right before it: the
 * tree for both sides, and for ours the programs (kubectl-dev's binary, syncthing).
 * Both are then measured warm, as a developer's machine runs them.
 */
const SETTLE_MS = arg('settle', 30) * 1000;
async function settle(warm: readonly string[] = [], run: ReadonlyArray<readonly string[]> = []): Promise<void> {
  execSync('sync');
  await sleep(SETTLE_MS);
  for (const p of warm) execSync(`find ${JSON.stringify(p)} -type f -exec cat {} + > /dev/null`);
  // Programs are warmed by running them (reading a whole binary would map more of it in than a run does).
  for (const [command, ...args] of run) spawnSync(command!, args, { stdio: 'ignore', env: process.env });
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Cli {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  /** Highest VmHWM seen (kB). */
  peakKb: () => number;
  /** When VmHWM last grew (ms after the start). */
  peakAtMs: () => number;
  /** RssAnon and RssFile (kB) at the sample with the highest RSS: the program's own memory and the pages of its files mapped in. */
  split: () => { anonKb: number; fileKb: number };
}

/** How to start `cli`: a bundle on this Node, or a binary. */
function commandOf(cli: string): string[] {
  return /\.[cm]?js$/.test(cli) ? [process.execPath, cli] : [cli];
}

/** Settles, then warms what a timed `kubectl dev sync` reads: the tree, syncthing, and kubectl-dev (by running it: `status -A` loads what sync does). */
/** Settles, then warms what a timed `kubectl dev sync` reads: the tree, the local syncthing (unpacked in kubectl-dev's cache), and kubectl-dev (by running it: `status -A` loads what sync does). */
function settleForSync(localDir: string, cli: string, kubeconfig: string, env: NodeJS.ProcessEnv): Promise<void> {
  const syncthing = path.join(cacheDir(env), 'syncthing');
  return settle([localDir, ...(fs.existsSync(syncthing) ? [syncthing] : [])], [[...commandOf(cli), 'status', '-A', '--kubeconfig', kubeconfig]]);
}

function runCli(cli: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Cli {
  const command = commandOf(cli);
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  let peak = 0;
  let peakAt = 0;
  let rssMax = 0;
  const split = { anonKb: 0, fileKb: 0 };
  const started = performance.now();
  const timer = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
      if (kb('VmHWM') > peak) {
        peak = kb('VmHWM');
        peakAt = performance.now() - started;
      }
      if (kb('VmRSS') > rssMax) {
        rssMax = kb('VmRSS');
        split.anonKb = kb('RssAnon');
        split.fileKb = kb('RssFile') + kb('RssShmem');
      }
    } catch {
      /* exited */
    }
  }, 50);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    clearInterval(timer);
    resolve(code);
  }));
  return { child, out: () => out, exited, peakKb: () => peak, peakAtMs: () => peakAt, split: () => split };
}

function rssSplit(cli: Cli): string {
  const { anonKb, fileKb } = cli.split();
  return `at the highest sample: ${(anonKb / 1024).toFixed(0)} MB its own, ${(fileKb / 1024).toFixed(0)} MB of mapped files`;
}

/** Peak resident memory (VmHWM) of a running process, in kB. */
function hwmKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function until(what: string, fn: () => boolean, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Save → the file in the dev container: the probe's clock at the arrival minus this machine's at the save (one clock). */
async function saveLatencies(probe: ArrivalProbe, localDir: string, label: string, saves: number, gapMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < saves; i++) {
    const content = `${label}-${i}`;
    const t0 = wallNow();
    fs.writeFileSync(path.join(localDir, 'latency.txt'), `${content}\n`);
    out.push((await probe.arrival(content)) - t0);
    await sleep(gapMs);
  }
  return out;
}



/** The processes of a sync on this machine, by what their command lines name (the real node's containers run here too). */
function syncProcesses(o: { cli: string; root: string; clusterDir: string }): Record<string, (comm: string, cmd: string) => boolean> {
  return {
    'kubectl-dev': (_c, cmd) => cmd.includes(o.cli),
    'local syncthing': (c, cmd) => c.startsWith('syncthing') && cmd.includes(path.join(o.root, 'config')),
    'sidecar syncthing': (c, cmd) => c.startsWith('syncthing') && cmd.includes(`--home=${SYNCTHING_HOME}`),
    'kube-apiserver': (_c, cmd) => cmd.includes('kube-apiserver') && cmd.includes(o.clusterDir),
    etcd: (_c, cmd) => cmd.includes(' etcd ') && cmd.includes(o.clusterDir),
    kubelet: (c, cmd) => c === 'kubelet' && cmd.includes(o.clusterDir),
    'containerd + shims': (c, cmd) => c.startsWith('containerd') && cmd.includes(o.clusterDir),
    'dd | tar (exec)': (c) => c === 'tar' || c === 'dd',
  };
}

async function main(): Promise<void> {
  const cluster = await benchCluster({ realNode: true });
  if (!cluster.realNode) throw new Error('this benchmark runs the product\'s sidecar in a real pod: the cluster has no Ready real node (kubectl-dev.test/real-node=true)');
  useForHelpers(cluster);
  const kubeconfig = cluster.kubeconfig;
  const clusterDir = cluster.dir ?? path.dirname(kubeconfig);
  const root = tempDir('bench-sync');
  fs.chmodSync(root, 0o755);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  let dev: DevWorkload | undefined;
  let probe: ArrivalProbe | undefined;
  const clis: Cli[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
  delete env.KUBECONFIG_TEST;
  try {
    // --cli=FILE runs a given build (a .cjs bundle on this Node, or a binary); by default the
    // shipped single binary, built first when missing or older than the sources, as bench/start.ts
    // (KUBECTL_DEV_BENCH_BUNDLE=1: the sources bundled here, on Node 24).
    const given = process.argv.find((a) => a.startsWith('--cli='))?.slice('--cli='.length);
    const cli = given ? path.resolve(given) : process.env.KUBECTL_DEV_BENCH_BUNDLE ? path.join(root, 'kubectl-dev.cjs') : await ensureBinary();
    if (!given && process.env.KUBECTL_DEV_BENCH_BUNDLE) await build({ entryPoints: ['src/bin.ts'], outfile: cli, bundle: true, platform: 'node', target: 'node24', format: 'cjs', logLevel: 'error', define: { KUBECTL_DEV_VERSION: '"bench"' } });
    log(`kubectl-dev: ${cli}`);
    const localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);

    // Dev mode as a user enters it; the dev image has node, for the arrival probe.
    log(`kubectl dev start --no-sync (dev image ${NODE_IMAGE}, sidecar ${SIDECAR_IMAGE ?? 'the default image'}) on node ${cluster.realNode}`);
    dev = await startDevWorkload({ kc, prefix: 'bench-sync', cli: commandOf(cli), env, image: NODE_IMAGE, cwd: localDir, ...(SIDECAR_IMAGE ? { sidecarImage: SIDECAR_IMAGE } : {}) });
    const ns = dev.namespace;
    log(`dev pod ${dev.pod}: sidecar syncthing ${dev.sidecarVersion}`);
    /** The first initial sync uses the pod `start` made; every other one a replaced pod (an empty work dir, a new sidecar database). */
    let unused = true;
    const freshSidecar = async () => {
      if (!unused) await dev!.freshSidecar();
      unused = false;
    };
    const filesInContainer = () => countFilesIn(ns, dev!.pod, DEV_CONTAINER, WORKDIR);
    const diskNote = fs.statSync(root).dev === fs.statSync(clusterDir).dev ? 'the same disk as the pod\'s emptyDir' : 'NOT the disk of the pod\'s emptyDir';

    if (ONLY === 'initial') {
      await initialOnly({ cli, env, localDir, root, ns, kubeconfig, clusterDir, freshSidecar, filesInContainer, files: makeTree(localDir).files, dev, diskNote });
      return;
    }

    // 2 + 3: initial sync of the big tree with `sync --once` (fresh sidecar: empty work dir), and its peak RSS.
    log(`making the tree: ${FILES} × 2 KB in ${DIRS} dirs + ${BIG} × ${BIG_MB} MB`);
    const tree = makeTree(localDir);
    await freshSidecar();
    await settleForSync(localDir, cli, kubeconfig, env);
    log('initial sync through the whole path (kubectl dev sync --once)');
    const t0 = performance.now();
    const once = runCli(cli, ['sync', 'deployment/web', '-n', ns, '--once', '--timeout', '15m'], env, localDir);
    clis.push(once);
    let connectedAt: number | undefined;
    const onData = () => {
      if (connectedAt === undefined && /\[pod /.test(once.out())) connectedAt = performance.now();
    };
    once.child.stdout!.on('data', onData);
    const code = await once.exited;
    const syncMs = performance.now() - t0;
    if (code !== 0) throw new Error(`sync --once exited ${code}: ${once.out()}`);
    const arrivedFiles = await filesInContainer();
    if (arrivedFiles !== tree.files) throw new Error(`expected ${tree.files} files in the container, found ${arrivedFiles}`);
    const fromConnectedMs = connectedAt !== undefined ? performance.now() - connectedAt : syncMs;
    const syncPeakMb = once.peakKb() / 1024;

    // The same without the initial copy (tar through exec): syncthing alone, for comparison.
    log('initial sync again, into a fresh sidecar (dev pod replaced), syncthing alone (as a user without pods/exec)');
    const noExec = await kubeconfigWithoutExec(kubeconfig, ns, root);
    await freshSidecar();
    await settleForSync(localDir, cli, kubeconfig, env);
    const s0 = performance.now();
    const stOnly = runCli(cli, ['sync', 'deployment/web', '-n', ns, '--once', '--timeout', '15m'], { ...env, KUBECONFIG: noExec }, localDir);
    clis.push(stOnly);
    const stOnlyCode = await stOnly.exited;
    const stOnlyMs = performance.now() - s0;
    if (stOnlyCode !== 0) throw new Error(`sync --once (syncthing alone) exited ${stOnlyCode}: ${stOnly.out()}`);
    if ((await filesInContainer()) !== tree.files) throw new Error('sync --once (syncthing alone) returned before the tree arrived');

    log(`baseline: tar c | tar x of the same tree (into ${diskNote})`);
    const tarDir = path.join(root, 'tar-copy');
    fs.mkdirSync(tarDir);
    await settle([localDir]);
    const tt0 = performance.now();
    execSync(`tar -C ${JSON.stringify(localDir)} -cf - . | tar -C ${JSON.stringify(tarDir)} -xf -`, { stdio: 'inherit' });
    execSync('sync');
    const tarMs = performance.now() - tt0;
    fs.rmSync(tarDir, { recursive: true, force: true });

    // The same initial sync with `sync --wait`: it runs the session in a background process
    // started with a 1 MB young generation and 2 malloc arenas (see startBackgroundSync).
    log('initial sync again, into a fresh sidecar (dev pod replaced), with kubectl dev sync --wait (background session)');
    await freshSidecar();
    await settleForSync(localDir, cli, kubeconfig, env);
    const w0 = performance.now();
    const wait = runCli(cli, ['sync', 'deployment/web', '-n', ns, '--wait', '--timeout', '15m'], env, localDir);
    clis.push(wait);
    const waitCode = await wait.exited;
    const waitMs = performance.now() - w0;
    if (waitCode !== 0) throw new Error(`sync --wait exited ${waitCode}: ${wait.out()}`);
    if ((await filesInContainer()) !== tree.files) throw new Error('sync --wait returned before the tree arrived');
    const target = { cluster: kc.getCurrentCluster()!.server, namespace: ns, kind: 'Deployment', name: 'web' };
    const daemon = readLock(statePaths(env, target).lock)!.pid;
    const daemonSyncMb = hwmKb(daemon) / 1024;

    // 1: latency through the whole path (the tree stays: a realistic folder), first with the background session…
    probe = await arrivalProbe(ns, dev.pod, `${WORKDIR}/latency.txt`);
    log(`latency: ${SAVES} saves through kubectl-dev's fast path (background session)`);
    await saveLatencies(probe, localDir, 'bg-warm', 3, GAP_MS);
    const bgLat = await saveLatencies(probe, localDir, 'bg', SAVES, GAP_MS);
    const bgPeakMb = hwmKb(daemon) / 1024;
    await stopLocalSync(target, env);

    // …then with a foreground `kubectl dev sync` (default Node flags), as `start` hands over.
    log(`latency: ${SAVES} saves through kubectl-dev's fast path (foreground)`);
    const fg = runCli(cli, ['sync', 'deployment/web', '-n', ns], env, localDir);
    clis.push(fg);
    await until('foreground session idle', () => /\bidle \[pod /.test(fg.out()), 120_000);
    await saveLatencies(probe, localDir, 'fg-warm', 3, GAP_MS);
    const fastLat = await saveLatencies(probe, localDir, 'fg', SAVES, GAP_MS);
    const fastPeakMb = hwmKb(fg.child.pid!) / 1024;
    fg.child.kill('SIGINT');
    await fg.exited;

    log(`latency: ${SAVES} saves through syncthing's own watcher (fsWatcherDelayS=1)`);
    const slow = runCli(cli, ['sync', 'deployment/web', '-n', ns, '--watcher=syncthing', '--watcher-delay=1'], env, localDir);
    clis.push(slow);
    await until('watcher session idle', () => /\bidle \[pod /.test(slow.out()), 120_000);
    await saveLatencies(probe, localDir, 'st-warm', 2, BASELINE_GAP_MS);
    const slowLat = await saveLatencies(probe, localDir, 'st', SAVES, BASELINE_GAP_MS);
    slow.child.kill('SIGINT');
    await slow.exited;

    const f = (ms: number) => `${ms.toFixed(0)} ms`;
    const mb = tree.bytes / 1e6;
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const p50 = pct(fastLat, 50) / pct(slowLat, 50);
    const rss = [syncPeakMb, stOnly.peakKb() / 1024, daemonSyncMb, bgPeakMb, fastPeakMb];
    const localVersion = /syncthing (v[\d.]+[^)\s]*)/.exec(once.out())?.[1] ?? '?';
    const lines = [
      `## kubectl-dev sync benchmark (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, node ${cluster.realNode}: kubelet + containerd + runc, local syncthing ${localVersion}, sidecar syncthing ${dev.sidecarVersion} (${SIDECAR_IMAGE ?? 'the default sidecar image'}) in the dev pod, Node ${process.version}${cluster.owned ? '' : ', a shared test cluster'})`,
      '',
      '| measure | kubectl-dev | baseline | ratio | goal |',
      '|---|---|---|---|---|',
      `| save → container, p50 (${SAVES} saves, foreground \`sync\`) | ${f(pct(fastLat, 50))} | ${f(pct(slowLat, 50))} (syncthing watcher, delay 1 s) | ${p50.toFixed(3)}× | ≤ 100 ms and ≤ 0.1× ${met(pct(fastLat, 50) <= 100 && p50 <= 0.1)} |`,
      `| save → container, p90 (foreground) | ${f(pct(fastLat, 90))} | ${f(pct(slowLat, 90))} | ${(pct(fastLat, 90) / pct(slowLat, 90)).toFixed(3)}× | |`,
      `| save → container, p50 / p90 (background session) | ${f(pct(bgLat, 50))} / ${f(pct(bgLat, 90))} | | ${(pct(bgLat, 50) / pct(slowLat, 50)).toFixed(3)}× | |`,
      `| initial sync, ${tree.files} files, ${mb.toFixed(0)} MB (\`sync --once\`, from start) | ${(syncMs / 1000).toFixed(1)} s | ${(tarMs / 1000).toFixed(1)} s (\`tar c \\| tar x\`) | ${(syncMs / tarMs).toFixed(1)}× | ≤ 5× ${met(syncMs / tarMs <= 5)} |`,
      `| initial sync, from connected to in sync (after the copy) | ${(fromConnectedMs / 1000).toFixed(1)} s | ${(tarMs / 1000).toFixed(1)} s | ${(fromConnectedMs / tarMs).toFixed(1)}× | |`,
      `| initial sync, syncthing alone (no \`pods/exec\`: no initial copy) | ${(stOnlyMs / 1000).toFixed(1)} s | ${(tarMs / 1000).toFixed(1)} s | ${(stOnlyMs / tarMs).toFixed(1)}× | |`,
      `| initial sync with \`sync --wait\` (background session) | ${(waitMs / 1000).toFixed(1)} s | ${(tarMs / 1000).toFixed(1)} s | ${(waitMs / tarMs).toFixed(1)}× | |`,
      `| peak RSS of kubectl-dev, \`sync --once\` (foreground, default Node flags) | ${syncPeakMb.toFixed(0)} MB (${rssSplit(once)}) | | | ≤ 120 MB ${met(rss[0]! <= 120)} |`,
      `| peak RSS of kubectl-dev, \`sync --once\`, syncthing alone | ${rss[1]!.toFixed(0)} MB (${rssSplit(stOnly)}) | | | ≤ 120 MB ${met(rss[1]! <= 120)} |`,
      `| peak RSS of kubectl-dev, background session, initial sync | ${daemonSyncMb.toFixed(0)} MB | | | ≤ 120 MB ${met(rss[2]! <= 120)} |`,
      `| peak RSS of kubectl-dev, background session, after the ${SAVES} saves | ${bgPeakMb.toFixed(0)} MB | | | ≤ 120 MB ${met(rss[3]! <= 120)} |`,
      `| peak RSS of kubectl-dev, foreground session, ${SAVES} saves | ${fastPeakMb.toFixed(0)} MB | | | ≤ 120 MB ${met(rss[4]! <= 120)} |`,
      `| size of kubectl-dev (${path.basename(cli)}) | ${(fs.statSync(cli).size / 1e6).toFixed(1)} MB | | | |`,
      '',
      `Tree: ${FILES} × 2 KB in ${DIRS} dirs + ${BIG} × ${BIG_MB} MB; each initial sync into a fresh dev pod (the first made by \`start\`, then replaced); tar into ${diskNote}; saves ${GAP_MS} ms apart (${BASELINE_GAP_MS} ms through syncthing's watcher), seen in the dev container.`,
      `fast path, foreground, all saves (ms): ${fastLat.map((x) => x.toFixed(0)).join(' ')}`,
      `fast path, background, all saves (ms): ${bgLat.map((x) => x.toFixed(0)).join(' ')}`,
      `syncthing watcher, all saves (ms): ${slowLat.map((x) => x.toFixed(0)).join(' ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    probe?.stop();
    for (const c of clis) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    if (dev) await stopLocalSync({ cluster: kc.getCurrentCluster()!.server, namespace: dev.namespace, kind: 'Deployment', name: 'web' }, env).catch(() => {});
    await dev?.remove();
    await cluster.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `--only=initial`: just the initial sync against tar, `--runs` times, with a CPU profile per process group
 * (`--timeline`: the session's steps with their times). `--syncthing-alone` measures syncthing alone
 * (as a user without pods/exec); `--compare` measures both in every run, against the same tar run.
 */
async function initialOnly(o: { cli: string; env: NodeJS.ProcessEnv; localDir: string; root: string; ns: string; kubeconfig: string; clusterDir: string; freshSidecar: () => Promise<void>; filesInContainer: () => Promise<number>; files: number; dev: DevWorkload; diskNote: string }): Promise<void> {
  const rows: string[] = [];
  // --ab=NAME=VALUE: the same sync without and with that environment variable, alternating, against the same tar runs.
  const ab = process.argv.find((a) => a.startsWith('--ab='))?.slice('--ab='.length);
  const alone: Record<string, string> = process.argv.includes('--compare') || process.argv.includes('--syncthing-alone') ? { KUBECONFIG: await kubeconfigWithoutExec(o.kubeconfig, o.ns, o.root) } : {};
  const variants: Array<{ name: string; env: Record<string, string> }> = process.argv.includes('--compare')
    ? [{ name: 'with the initial copy', env: {} }, { name: 'syncthing alone', env: alone }]
    : ab
      ? [{ name: 'A', env: {} }, { name: `B (${ab})`, env: { [ab.split('=')[0]!]: ab.split('=').slice(1).join('=') } }]
      : [{ name: process.argv.includes('--syncthing-alone') ? 'syncthing alone' : 'with the initial copy', env: alone }];
  const ratios = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const tars: number[] = [];
  const once = async (variant: { name: string; env: Record<string, string> }) => {
    fs.rmSync(path.join(o.root, 'config'), { recursive: true, force: true });
    await o.freshSidecar();
    await settleForSync(o.localDir, o.cli, o.kubeconfig, o.env);
    const cpu = cpuSampler(syncProcesses({ cli: o.cli, root: o.root, clusterDir: o.clusterDir }));
    const t0 = performance.now();
    const env = { ...o.env, ...variant.env, ...(process.argv.includes('--timeline') ? { KUBECTL_DEV_SYNC_DEBUG: '1' } : {}) };
    // --wait: the background session's way (`sync --wait`, then the session is stopped as `end` does).
    const mode = process.argv.includes('--wait') ? '--wait' : '--once';
    const cli = runCli(o.cli, ['sync', 'deployment/web', '-n', o.ns, mode, '--timeout', '15m'], env, o.localDir);
    const marks: string[] = [];
    let seen = 0;
    const onData = () => {
      const text = cli.out();
      const lines = text.slice(seen).split('\n');
      seen = text.length - (lines.pop() ?? '').length;
      for (const line of lines) if (line.trim()) marks.push(`${((performance.now() - t0) / 1000).toFixed(2)} s  ${line.slice(0, 160)}`);
    };
    cli.child.stdout!.on('data', onData);
    cli.child.stderr!.on('data', onData);
    const code = await cli.exited;
    const ms = performance.now() - t0;
    const used = cpu.stop();
    if (code !== 0) throw new Error(`sync ${mode} exited ${code}: ${cli.out()}`);
    if (mode === '--wait') {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(o.kubeconfig);
      const target = { cluster: kc.getCurrentCluster()!.server, namespace: o.ns, kind: 'Deployment', name: 'web' };
      marks.push(...fs.readFileSync(path.join(statePaths(o.env, target).dir, 'background.log'), 'utf8').split('\n').filter((l) => l.startsWith('[sync')).map((l) => `  (background) ${l}`));
      await stopLocalSync(target, o.env);
    }
    const arrived = await o.filesInContainer();
    if (arrived !== o.files) throw new Error(`expected ${o.files} files in the container, found ${arrived}; kubectl-dev said:\n${cli.out()}`);
    const total = Object.values(used).reduce((a, b) => a + b, 0);
    return {
      ms,
      lines: [
        `  ${variant.name}: sync ${mode} ${(ms / 1000).toFixed(2)} s, peak RSS ${(cli.peakKb() / 1024).toFixed(0)} MB (reached at ${(cli.peakAtMs() / 1000).toFixed(2)} s; ${rssSplit(cli)})`,
        `    CPU s: ${Object.entries(used).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} (total ${total.toFixed(2)} of ${(2 * ms / 1000).toFixed(2)} available)`,
        ...(process.argv.includes('--timeline') ? [...marks.map((m) => `      ${m}`), '    CPU per 200 ms (100% = one core):', ...cpu.profile(200).map((r) => `    ${r}`)] : []),
      ],
    };
  };
  for (let run = 0; run < RUNS; run++) {
    // With two variants, every other run starts with the second: the one that runs second
    // was slower in the copy in six runs of six (its dd | tar used more CPU), whatever it was.
    const order = run % 2 === 1 ? [...variants].reverse() : variants;
    const results = [];
    for (const variant of order) results.push({ variant, ...(await once(variant)) });
    results.sort((a, b) => variants.indexOf(a.variant) - variants.indexOf(b.variant));
    const tarDir = path.join(o.root, 'tar-copy');
    fs.rmSync(tarDir, { recursive: true, force: true });
    fs.mkdirSync(tarDir);
    await settle([o.localDir]);
    const tt0 = performance.now();
    execSync(`tar -C ${JSON.stringify(o.localDir)} -cf - . | tar -C ${JSON.stringify(tarDir)} -xf -`, { stdio: 'inherit' });
    execSync('sync');
    const tarMs = performance.now() - tt0;
    fs.rmSync(tarDir, { recursive: true, force: true });
    tars.push(tarMs);
    rows.push(`run ${run + 1}: tar ${(tarMs / 1000).toFixed(2)} s; ${results.map((r) => `${r.variant.name} ${(r.ms / 1000).toFixed(2)} s = ${(r.ms / tarMs).toFixed(1)}×`).join('; ')}`);
    for (const r of results) {
      ratios.get(r.variant.name)!.push(r.ms / tarMs);
      times.get(r.variant.name)!.push(r.ms);
      rows.push(...r.lines);
    }
    log(rows.slice(-1 - results.length * 2).join('\n'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  rows.push(`sidecar: syncthing ${o.dev.sidecarVersion} (${SIDECAR_IMAGE ?? 'the default sidecar image'}) in a fresh dev pod per run (replaced; the first made by \`start\`); tar into ${o.diskNote}`);
  rows.push(`tar c | tar x: median ${(median(tars) / 1000).toFixed(2)} s over ${RUNS} run(s)`);
  for (const v of variants) {
    rows.push(`${v.name}: median ${(median(times.get(v.name)!) / 1000).toFixed(2)} s, median ratio ${median(ratios.get(v.name)!).toFixed(1)}× (per run: ${ratios.get(v.name)!.map((r) => r.toFixed(1)).join(', ')})`);
  }
  // For bench/RESULTS.md's summary (bench/run-all.ts takes the Markdown rows).
  rows.push('', '| measure | kubectl-dev | baseline | ratio | goal |', '|---|---|---|---|---|');
  for (const v of variants) {
    const r = median(ratios.get(v.name)!);
    rows.push(`| initial sync, ${v.name}, median of ${RUNS} run(s) (${ratios.get(v.name)!.map((x) => `${x.toFixed(1)}×`).join(', ')}) | ${(median(times.get(v.name)!) / 1000).toFixed(2)} s | ${(median(tars) / 1000).toFixed(2)} s (\`tar c \\| tar x\`) | ${r.toFixed(1)}× | ≤ 5× ${r <= 5 ? 'met' : 'NOT met'} |`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
