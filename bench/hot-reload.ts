// The coding loop on real containers (the test cluster's real node: kubelet, containerd, runc),
// kubectl-dev against the loop without it, measured in the same run on the same cluster:
//
//   (a) edit → HTTP response. kubectl-dev: `kubectl dev start deploy/web --image node:24
//       --local-dir SRC --run "node server.js" -p :9080`, SRC a 5,000-file / 115 MB tree
//       (bench/tree.ts) plus the app (a node http server answering with message.txt, read at
//       start); each edit of message.txt is timed until the first response through the forward
//       that shows it. Baseline: the image-rebuild loop, no kubectl-dev — build an image from
//       the same tree (test/cluster/images.ts buildImage: node:24's files plus the tree, one
//       layer), import it into the node (ctr, test/cluster/node.ts importImage; there is no
//       registry, so no push or pull), `kubectl set image`, `kubectl rollout status`,
//       `kubectl port-forward` to the new pod, first response showing the edit.
//   (b) zero to first response: `kubectl dev start --run … -p` from a workload not in dev mode
//       to the first response served by the synced code (split into dev mode on, dev pod
//       ready, initial sync, app start), against one turn of the rebuild loop.
//   (c) save → file in the real container: `kubectl dev sync` with kubectl-dev's watcher (the
//       fast path) and with syncthing's own watcher (fsWatcherDelayS=1) in the same run. The
//       arrival is seen in the dev container by a small node poller (fs.watch + a 1 ms poll)
//       that prints its clock; the container shares this machine's clock, so the save time
//       here and the arrival time there compare directly.
//
//   node bench/hot-reload.ts [--kubeconfig=PATH --cluster-dir=DIR] [--edits=10] [--rebuilds=3] [--saves=20] [--gap-ms=500]
//
// --kubeconfig/--cluster-dir (or $KUBECONFIG_TEST) use a running test cluster with its real node
// (images are imported through the node's containerd socket, found in the cluster's directory);
// without them a cluster with a real node is started in a temp dir and stopped at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { IMAGES, NODE_IMAGE, buildImage, type Entry } from '../test/cluster/images.ts';
import { importImage, nodeBinaryPaths, readRealNodeRecord } from '../test/cluster/node.ts';
import { kubectlBinary } from '../test/support/binaries.ts';
import { bundleCli, httpGet } from '../test/e2e/cli-process.ts';
import { tempDir } from '../test/unit/sync/support.ts';
import { benchCluster, median } from './cluster.ts';
import { BENCH_TREE, makeTree } from './tree.ts';

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const EDITS = arg('edits', 10);
const REBUILDS = arg('rebuilds', 3);
const SAVES = arg('saves', 20);
const GAP_MS = arg('gap-ms', 500);
/** Between saves through syncthing's watcher: longer than its 1 s delay and aggregation. */
const WATCHER_GAP_MS = 1_500;
const PORT = 9080;
const BENCH_IMAGE = 'kubectl-dev.bench/web';

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
/** Wall clock in ms with sub-ms precision, comparable with the same expression in a container on this machine. */
const wallNow = () => performance.timeOrigin + performance.now();

/** The app: answers with message.txt as read at start; ends at once on SIGTERM, as a well-behaved server does. */
const SERVER = `
const fs = require('node:fs');
const message = fs.readFileSync('message.txt', 'utf8').trim();
process.on('SIGTERM', () => process.exit(0));
require('node:http').createServer((req, res) => res.end(message + '\\n')).listen(${PORT});
`;

/** Watches /workspace/probe.txt in the dev container; prints "A <content> <wall clock ms>" on every change. */
const POLLER = `
const fs = require('node:fs');
const f = '/workspace/probe.txt';
let last;
const check = () => {
  let c;
  try { c = fs.readFileSync(f, 'utf8'); } catch { return; }
  if (c === last) return;
  last = c;
  process.stdout.write('A ' + c.trim() + ' ' + (performance.timeOrigin + performance.now()).toFixed(3) + '\\n');
  if (c.trim() === 'end') process.exit(0);
};
try { fs.watch('/workspace', check); } catch {}
setInterval(check, 1);
setTimeout(() => process.exit(0), 900000);
console.log('ready');
`;

interface Timed {
  child: ChildProcess;
  /** Lines of stdout and stderr with the time (performance.now()) each arrived. */
  lines: Array<{ t: number; text: string }>;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** When the first line matching `re` arrived (waits for it). */
  at(re: RegExp, timeoutMs?: number): Promise<{ t: number; m: RegExpExecArray }>;
}

function spawnTimed(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Timed {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<{ t: number; text: string }> = [];
  let out = '';
  let err = '';
  const split = (stream: NodeJS.ReadableStream, add: (s: string) => void) => {
    let partial = '';
    stream.on('data', (d: Buffer) => {
      const t = performance.now();
      add(d.toString());
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ t, text });
    });
  };
  split(child.stdout!, (s) => (out += s));
  split(child.stderr!, (s) => (err += s));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const at = async (re: RegExp, timeoutMs = 300_000) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const l of lines) {
        const m = re.exec(l.text);
        if (m) return { t: l.t, m };
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${err.slice(-3000)}${out.slice(-2000)}`);
      if (performance.now() > deadline) throw new Error(`no line matching ${re} within ${timeoutMs / 1000} s:\n${err.slice(-3000)}${out.slice(-2000)}`);
      await sleep(5);
    }
  };
  return { child, lines, out: () => out, err: () => err, exited, at };
}

/** Polls the port (a new connection each time, 5 ms apart at most) until it answers `want`; returns that moment. */
async function answered(port: number, want: string, timeoutMs = 120_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    last = await httpGet(port);
    if (last?.trim() === want) return performance.now();
    if (performance.now() > deadline) throw new Error(`no answer "${want}" on 127.0.0.1:${port} within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`);
    await sleep(5);
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every file of `dir` as image entries under `under`. */
function treeEntries(dir: string, under: string): Entry[] {
  const entries: Entry[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        entries.push({ path: `${under}/${r}`, dir: true, mode: 0o755 });
        walk(r);
      } else if (d.isFile()) {
        entries.push({ path: `${under}/${r}`, from: path.join(dir, r), mode: 0o644 });
      }
    }
  };
  walk('');
  return entries;
}

const fmtMs = (ms: number) => `${Math.round(ms)} ms`;
const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const cluster = await benchCluster({ realNode: true });
  if (!cluster.realNode) throw new Error('this benchmark runs on real containers: the cluster has no Ready real node (kubectl-dev.test/real-node=true)');
  const record = cluster.dir ? readRealNodeRecord(cluster.dir) : undefined;
  if (!cluster.dir || !record) throw new Error(`the cluster's run directory with its real node's record is needed to import images: --cluster-dir=DIR (got ${cluster.dir ?? 'none'})`);
  const root = tempDir('bench-loop');
  fs.chmodSync(root, 0o755);
  const kubectl = kubectlBinary();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const ns = `bench-loop-${randomBytes(3).toString('hex')}`;
  const children: ChildProcess[] = [];
  const images: string[] = [];
  const archives: string[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: cluster.kubeconfig, XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
  delete env.KUBECONFIG_TEST;
  const kubectlRun = (args: string[], timeoutMs = 300_000) => {
    const r = spawnSync(kubectl, ['--kubeconfig', cluster.kubeconfig, ...args], { encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.error?.message ?? ''}`);
    return r.stdout;
  };
  const started = performance.now();
  try {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    log(`making the tree (${BENCH_TREE.files} × 2 KB + ${BENCH_TREE.big} × ${BENCH_TREE.bigMb} MB)`);
    const tree = makeTree(src);
    fs.writeFileSync(path.join(src, 'server.js'), SERVER);
    fs.writeFileSync(path.join(src, 'message.txt'), 'v0\n');
    const treeMb = (tree.bytes / 1e6).toFixed(0);
    const cli = await bundleCli(path.join(root, 'kubectl-dev.cjs'));
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await until('the default service account', () => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }).then(() => true, () => false));
    const deployment = (name: string, image: string, command?: string[]) => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image, ...(command ? { command } : {}), ports: [{ containerPort: PORT }] }] } },
      },
    });
    // The workload kubectl-dev develops: it runs something else (busybox) before dev mode.
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 'docker.io/library/busybox:1.36', ['sleep', '3600']) });
    kubectlRun(['rollout', 'status', '-n', ns, 'deployment/web', '--timeout=300s']);

    // ── (b) zero to first response, then (a) edits, with kubectl-dev ──
    log('kubectl dev start --run … -p :9080 on a workload not in dev mode');
    const t0 = performance.now();
    const dev = spawnTimed(process.execPath, [cli, 'start', 'deploy/web', '-n', ns, '--image', 'node:24', '--local-dir', src, '--run', 'node server.js', '-p', `:${PORT}`, '--timeout', '10m'], { cwd: src, env });
    children.push(dev.child);
    const inDevMode = await dev.at(/✓ deployment\/web is in dev mode/);
    const podReady = await dev.at(/✓ dev pod \S+ is ready/);
    const forward = await dev.at(/forwarding 127\.0\.0\.1:(\d+) → 9080/);
    const port = Number(forward.m[1]);
    const appStarted = await dev.at(/\[run\] started in (\S+): /, 600_000);
    const pod = appStarted.m[1]!;
    const firstAnswer = await answered(port, 'v0');
    const zero = {
      total: firstAnswer - t0, devMode: inDevMode.t - t0, podReady: podReady.t - inDevMode.t,
      initialSync: appStarted.t - podReady.t, appStart: firstAnswer - appStarted.t,
    };
    log(`first response after ${fmtMs(zero.total)}`);

    log(`kubectl dev run: ${EDITS} edits of message.txt → response`);
    const devLatencies: number[] = [];
    for (let i = 1; i <= EDITS; i++) {
      await sleep(GAP_MS);
      const e0 = performance.now();
      fs.writeFileSync(path.join(src, 'message.txt'), `v${i}\n`);
      devLatencies.push((await answered(port, `v${i}`)) - e0);
    }
    const restarts = (dev.err().match(/landed in the container/g) ?? []).length;
    dev.child.kill('SIGINT');
    if ((await dev.exited) !== 0) throw new Error(`kubectl dev start after Ctrl-C: ${dev.err().slice(-2000)}`);

    // ── (c) save → file in the container, fast path and syncthing's watcher ──
    const poller = spawnTimed(kubectl, ['--kubeconfig', cluster.kubeconfig, 'exec', '-n', ns, pod, '-c', 'app', '--', 'node', '-e', POLLER], { cwd: root, env });
    children.push(poller.child);
    await poller.at(/^ready$/, 60_000);
    const saveLatencies = async (label: string, count: number, gapMs: number) => {
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        await sleep(gapMs);
        const content = `${label}-${i}`;
        const s0 = wallNow();
        fs.writeFileSync(path.join(src, 'probe.txt'), `${content}\n`);
        const arrived = await poller.at(new RegExp(`^A ${content} ([\\d.]+)$`), 30_000);
        latencies.push(Number(arrived.m[1]) - s0);
      }
      return latencies;
    };
    const syncSession = async (label: string, extra: string[], gapMs: number) => {
      const s = spawnTimed(process.execPath, [cli, 'sync', 'deploy/web', '-n', ns, '--local-dir', src, ...extra], { cwd: src, env });
      children.push(s.child);
      await s.at(/\bidle \[pod /, 600_000);
      await saveLatencies(`${label}-warm`, 2, gapMs);
      const latencies = await saveLatencies(label, SAVES, gapMs);
      s.child.kill('SIGINT');
      await s.exited;
      return latencies;
    };
    log(`save → file in the container: ${SAVES} saves, kubectl dev sync (fast path)`);
    const fastSaves = await syncSession('fast', [], GAP_MS);
    log(`save → file in the container: ${SAVES} saves, kubectl dev sync with syncthing's watcher (fsWatcherDelayS=1)`);
    const watcherSaves = await syncSession('watcher', ['--watcher=syncthing', '--watcher-delay=1'], WATCHER_GAP_MS);
    poller.child.kill('SIGTERM');
    const end = spawnSync(process.execPath, [cli, 'end', 'deploy/web', '-n', ns], { cwd: src, env, encoding: 'utf8', timeout: 300_000 });
    if (end.status !== 0) throw new Error(`kubectl dev end: ${end.stderr}`);

    // ── the rebuild loop, no kubectl-dev ──
    const nodeSpec = IMAGES.find((i) => i.name === NODE_IMAGE)!;
    const baseEntries = nodeSpec.entries();
    let baseBytes = 0;
    for (const e of baseEntries) if ('from' in e) baseBytes += fs.statSync(e.from).size;
    const turn = async (n: number, first: boolean) => {
      const name = `${BENCH_IMAGE}:${n}`;
      const r0 = performance.now();
      fs.writeFileSync(path.join(src, 'message.txt'), `r${n}\n`);
      const archive = buildImage({
        name,
        entries: () => [...baseEntries, { path: 'app', dir: true, mode: 0o755 }, ...treeEntries(src, 'app')],
        config: { ...nodeSpec.config, WorkingDir: '/app', Cmd: ['node', 'server.js'] },
      });
      archives.push(archive);
      const built = performance.now();
      importImage(cluster.dir!, archive);
      images.push(name);
      const imported = performance.now();
      if (first) await apps.createNamespacedDeployment({ namespace: ns, body: deployment('rebuild', name) });
      else kubectlRun(['set', 'image', '-n', ns, 'deployment/rebuild', `app=${name}`]);
      kubectlRun(['rollout', 'status', '-n', ns, 'deployment/rebuild', '--timeout=300s']);
      const rolledOut = performance.now();
      const newPod = await until('the new pod', async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=rebuild' });
        return pods.items.find((p) => !p.metadata?.deletionTimestamp && p.spec?.containers[0]?.image === name && p.status?.phase === 'Running')?.metadata?.name;
      });
      const pf = spawnTimed(kubectl, ['--kubeconfig', cluster.kubeconfig, 'port-forward', '-n', ns, `pod/${newPod}`, `:${PORT}`], { cwd: root, env });
      children.push(pf.child);
      const pfPort = Number((await pf.at(/Forwarding from 127\.0\.0\.1:(\d+)/, 60_000)).m[1]);
      const answeredAt = await answered(pfPort, `r${n}`);
      pf.child.kill('SIGTERM');
      await pf.exited;
      fs.rmSync(archive, { force: true });
      fs.rmSync(`${archive}.key`, { force: true });
      return { total: answeredAt - r0, build: built - r0, import: imported - built, rollout: rolledOut - imported, firstResponse: answeredAt - rolledOut };
    };
    log('rebuild loop: first deploy of the built image');
    const firstTurn = await turn(0, true);
    const turns: Array<Awaited<ReturnType<typeof turn>>> = [];
    for (let n = 1; n <= REBUILDS; n++) {
      log(`rebuild loop: turn ${n} of ${REBUILDS}`);
      turns.push(await turn(n, false));
      log(`  ${fmtS(turns.at(-1)!.total)}`);
    }

    // ── report ──
    const rebuildTotals = turns.map((t) => t.total);
    const r50 = median(rebuildTotals);
    const d50 = pct(devLatencies, 50);
    const d90 = pct(devLatencies, 90);
    const f50 = pct(fastSaves, 50);
    const f90 = pct(fastSaves, 90);
    const w50 = pct(watcherSaves, 50);
    const w90 = pct(watcherSaves, 90);
    const part = (k: 'build' | 'import' | 'rollout' | 'firstResponse') => fmtS(median(turns.map((t) => t[k])));
    const cpu = `${os.cpus().length} CPUs`;
    const lines = [
      `### The coding loop on real containers (${new Date().toISOString().slice(0, 10)}, ${cpu}, node ${cluster.realNode}: kubelet + containerd + runc, tree ${tree.files} files / ${treeMb} MB${cluster.owned ? '' : ', a shared test cluster'})`,
      '',
      '| measure | kubectl-dev | baseline | ratio | goal |',
      '|---|---|---|---|---|',
      `| edit → HTTP response, p50 (\`start --run\`, ${EDITS} edits; app in the dev container) | ${fmtMs(d50)} | ${fmtS(r50)} (image rebuild loop, median of ${REBUILDS}) | ${(d50 / r50).toFixed(3)}× | ≤ 0.05× and ≤ 400 ms ${d50 / r50 <= 0.05 && d50 <= 400 ? 'met' : 'NOT met'} |`,
      `| edit → HTTP response, p90 | ${fmtMs(d90)} | ${fmtS(Math.max(...rebuildTotals))} (slowest turn) | ${(d90 / Math.max(...rebuildTotals)).toFixed(3)}× | |`,
      `| zero → first response (\`start --run -p\`, workload not in dev mode) | ${fmtS(zero.total)} | ${fmtS(r50)} (one rebuild turn) | ${(zero.total / r50).toFixed(2)}× | |`,
      `| save → file in the container, p50 (\`sync\`, fast path, ${SAVES} saves) | ${fmtMs(f50)} | ${fmtMs(w50)} (syncthing watcher, delay 1 s) | ${(f50 / w50).toFixed(3)}× | ≤ 50 ms ${f50 <= 50 ? 'met' : 'NOT met'} |`,
      `| save → file in the container, p90 | ${fmtMs(f90)} | ${fmtMs(w90)} | ${(f90 / w90).toFixed(3)}× | |`,
      '',
      `Zero → first response with kubectl-dev, ${fmtS(zero.total)}: dev mode on (read, Secret, patch) ${fmtMs(zero.devMode)}; dev pod ready (scheduling, sandbox, the node:24 and syncthing containers) ${fmtMs(zero.podReady)}; initial sync of the tree (${tree.files} files, ${treeMb} MB, until the command starts) ${fmtMs(zero.initialSync)}; app start to first response through the forward ${fmtMs(zero.appStart)}.`,
      `One rebuild turn, median of ${REBUILDS} (${rebuildTotals.map((t) => fmtS(t)).join(', ')}): build the image ${part('build')} (one layer: node:24's files, ${(baseBytes / 1e6).toFixed(0)} MB, and the tree; buildImage copies, tars and hashes it); import into the node's containerd ${part('import')} (no registry: no push, no pull); \`set image\` + \`rollout status\` ${part('rollout')}; \`port-forward\` + first response ${part('firstResponse')}. First deploy of such an image (create + rollout): ${fmtS(firstTurn.total)}.`,
      '',
      `kubectl-dev edits, all (ms): ${devLatencies.map((x) => Math.round(x)).join(' ')} (restarts: ${restarts}, one per edit expected: ${EDITS})`,
      `rebuild turns, all (s): ${turns.map((t) => `${fmtS(t.total)} [build ${fmtS(t.build)}, import ${fmtS(t.import)}, rollout ${fmtS(t.rollout)}, response ${fmtS(t.firstResponse)}]`).join('; ')}`,
      `save → container, fast path, all (ms): ${fastSaves.map((x) => Math.round(x)).join(' ')}`,
      `save → container, syncthing watcher, all (ms): ${watcherSaves.map((x) => Math.round(x)).join(' ')}`,
      `benchmark wall time: ${fmtS(performance.now() - started)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await core.deleteNamespace({ name: ns }).catch(() => {});
    // The images this benchmark imported, and their archives.
    for (const name of images) {
      spawnSync(nodeBinaryPaths().ctr, ['--address', record.socket, '--namespace', 'k8s.io', 'images', 'rm', name], { stdio: 'ignore' });
    }
    for (const a of archives) {
      fs.rmSync(a, { force: true });
      fs.rmSync(`${a}.key`, { force: true });
    }
    await cluster.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
