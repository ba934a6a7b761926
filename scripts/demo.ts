// `npm run demo`: the newcomer's first command — the whole loop on an embedded cluster.
//
// With a real node (Linux, root, runc, CNI plugins: what test/cluster/node.ts checks), for real:
//   1. builds the control plane if needed (Go) and the CLI
//   2. starts the test cluster with its real node (kubelet + containerd + runc) in a temp dir
//   3. deploys the bookinfo sample (scripts/demo/bookinfo.yaml, Istio's, Apache-2.0). The node
//      has no registry and no network: the bookinfo images cannot be pulled, so each
//      Deployment's image is replaced, as it is applied, by a stand-in the node has (busybox
//      httpd answering on 9080) — said so in the output. Its answer is fetched through
//      `kubectl port-forward`.
//   4. kubectl dev start deployment/reviews-v1 --image node:24 --local-dir SRC --run "node server.js" -p :9080:
//      a real dev pod, the real sidecar (the product's syncthing image), the web app in SRC
//      running in the dev container, its port on localhost
//   5. edits SRC/server.js and times the HTTP response changing through the forward
//   6. kubectl dev status; Ctrl-C (the app stops, dev mode stays); kubectl dev end
//   7. checks the Deployment equals what it was (UID, labels, annotations, spec), nothing of dev
//      mode is left, and the original answers again as before
// Without a real node, today's KWOK demo: the sidecar is a syncthing on this machine reached
// through the API server's port-forward, and the edit is shown arriving in a local directory
// standing in for the container (saying why there is no real node).
//
// Everything is stopped and removed at the end, also on Ctrl-C. `kubectl dev` is run through
// the real kubectl 1.35 (its plugin mechanism finds kubectl-dev on PATH).
//
//   npm run demo [-- --keep] [-- --binary]
//     --keep    leave the cluster (or namespace) and files for a look (prints how to stop)
//     --binary  use the single executable dist/kubectl-dev (built if missing) as kubectl-dev
//   KUBECONFIG_TEST=PATH npm run demo
//               use that running test cluster (its real node if it has one) instead of starting
//               one; the demo works in its own namespace there and deletes it at the end

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type * as k8sTypes from '@kubernetes/client-node';

const ROOT = resolve(import.meta.dirname, '..');
const KEEP = process.argv.includes('--keep');
/** --binary: run the single executable (dist/kubectl-dev, built if missing) instead of the bundled CLI. */
const BINARY = process.argv.includes('--binary');
/** A running test cluster to use instead of starting one. */
const EXISTING = process.env.KUBECONFIG_TEST || undefined;
const WORKLOAD = 'deployment/reviews-v1';
const REAL_NODE_LABEL = 'kubectl-dev.test/real-node';
const STAND_IN_IMAGE = 'docker.io/library/busybox:1.36';
const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);

let stepNo = 0;
let stepCount = 0;

/** One step: a line with a spinner on a terminal while it runs, then ✓ or ✗ with the time. */
async function step<T>(title: string, run: () => Promise<T> | T): Promise<T> {
  stepNo++;
  const label = `[${stepNo}/${stepCount}] ${title}`;
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    let i = 0;
    const draw = () => process.stdout.write(`\r${frames[i++ % frames.length]} ${bold(label)} ${dim(`${((Date.now() - started) / 1000).toFixed(0)} s`)}\x1b[K`);
    draw();
    timer = setInterval(draw, 100);
  } else {
    process.stdout.write(`→ ${label}\n`);
  }
  const done = (mark: string) => {
    if (timer) clearInterval(timer);
    process.stdout.write(`${tty ? '\r' : ''}${mark} ${bold(label)} ${dim(`(${((Date.now() - started) / 1000).toFixed(1)} s)`)}${tty ? '\x1b[K' : ''}\n`);
  };
  try {
    const result = await run();
    done(green('✓'));
    return result;
  } catch (error) {
    done(red('✗'));
    throw error;
  }
}

/** Output of a command, indented under its step. */
function show(text: string): void {
  const lines = text.trimEnd().split('\n').filter((l) => l !== '');
  // On a terminal, clear the spinner's line first; it is drawn again on its next tick.
  if (lines.length) process.stdout.write(`${tty ? '\r\x1b[K' : ''}${lines.map((l) => `    ${l}`).join('\n')}\n`);
}

const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        process.stderr.write(`cleanup: ${(error as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stdout.write(`\n${signal}: stopping everything the demo started…\n`);
    void cleanup().then(() => process.exit(130));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET on a new connection; undefined while nothing answers. */
function httpGet(port: number): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d.toString()));
      res.on('end', () => resolvePromise(body));
      res.on('error', () => resolvePromise(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePromise(undefined));
  });
}

/** Polls `port` (every 10 ms at most) until the answer satisfies `ok`. */
async function answerOn(port: number, ok: (body: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    last = await httpGet(port);
    if (last !== undefined && ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`no answer with ${what} on 127.0.0.1:${port} within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`);
    await sleep(10);
  }
}

/** A long-running child with its output collected. */
interface Background {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function background(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Background {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, detail?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await sleep(100);
  }
}

/** The real node of the cluster at `kubeconfig`, if it has one that is Ready. */
async function realNodeOf(kubeconfig: string): Promise<string | undefined> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const nodes = await kc.makeApiClient(k8s.CoreV1Api).listNode({ labelSelector: `${REAL_NODE_LABEL}=true` });
  return nodes.items.find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))?.metadata?.name;
}

interface Setup {
  kubectl: string;
  env: NodeJS.ProcessEnv;
  kubeconfig: string;
  work: string;
  ns: string;
  kc: k8sTypes.KubeConfig;
  core: k8sTypes.CoreV1Api;
  run: (args: string[], opts?: { input?: string; quiet?: boolean }) => string;
}

/** The CLI built, kubectl and kubectl-dev on PATH. */
async function buildStep(work: string, buildControlPlane: boolean): Promise<{ bin: string; kubectl: string }> {
  const { kubectlBinary } = await import('../test/support/binaries.ts');
  let kubectl = '';
  if (buildControlPlane) {
    const { ensureBuilt } = await import('../test/cluster/build.lib.ts');
    await ensureBuilt();
  }
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.ts')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stderr}`);
  kubectl = kubectlBinary();
  if (BINARY && !existsSync(join(ROOT, 'dist', 'kubectl-dev'))) {
    const { buildBinary } = await import('./build-binary.ts');
    await buildBinary();
  }
  // kubectl finds plugins on PATH: put kubectl-dev (this checkout's CLI) there.
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'kubectl-dev'), BINARY
    ? `#!/bin/sh\nexec "${join(ROOT, 'dist', 'kubectl-dev')}" "$@"\n`
    : `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist', 'kubectl-dev.cjs')}" "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\nexec "${kubectl}" "$@"\n`, { mode: 0o755 });
  return { bin, kubectl };
}

async function setupFor(work: string, bin: string, kubectl: string, kubeconfig: string, ns: string): Promise<Setup> {
  const env: NodeJS.ProcessEnv = {
    ...process.env, PATH: `${bin}:${process.env.PATH}`, KUBECONFIG: kubeconfig,
    XDG_CONFIG_HOME: join(work, 'config'), NO_COLOR: '1',
  };
  delete env.KUBECONFIG_TEST;
  process.env.KUBECONFIG = kubeconfig;
  const run = (args: string[], opts: { input?: string; quiet?: boolean } = {}) => {
    const result = spawnSync('kubectl', args, { env, encoding: 'utf8', input: opts.input ?? '', timeout: 300_000 });
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
    // Progress (stderr) first: it happened before the result (stdout).
    if (!opts.quiet) show(`${dim(`$ kubectl ${args.join(' ')}`)}\n${result.stderr}${result.stdout}`);
    return result.stdout;
  };
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kubectl, env, kubeconfig, work, ns, kc, core: kc.makeApiClient(k8s.CoreV1Api), run };
}

async function createNamespace(s: Setup): Promise<void> {
  s.run(['create', 'namespace', s.ns], { quiet: true });
  await until(`ServiceAccount default in ${s.ns}`, () => s.core.readNamespacedServiceAccount({ name: 'default', namespace: s.ns }).then(() => true, () => false), 60_000);
}

/** What `end` must restore: UID, labels, annotations (but the controller's revision), spec. */
const restorable = (o: any) => {
  const annotations = { ...(o.metadata.annotations ?? {}) };
  delete annotations['deployment.kubernetes.io/revision'];
  return { uid: o.metadata.uid, labels: o.metadata.labels, annotations, spec: o.spec };
};

async function checkRestored(s: Setup, before: unknown): Promise<any> {
  const after = JSON.parse(s.run(['get', '-n', s.ns, WORKLOAD, '-o', 'json'], { quiet: true }));
  if (!isDeepStrictEqual(restorable(before), restorable(after))) {
    throw new Error(`the Deployment differs from before start:\nbefore: ${JSON.stringify(restorable(before))}\nafter:  ${JSON.stringify(restorable(after))}`);
  }
  const { syncSecretName } = await import('../src/core/names.ts');
  const sync = await import('../src/sync/index.ts');
  const secretGone = await s.core.readNamespacedSecret({ name: syncSecretName('Deployment', 'reviews-v1'), namespace: s.ns }).then(() => false, () => true);
  const state = await sync.readSyncState(sync.syncTargetOf(s.kc, s.ns, 'Deployment', 'reviews-v1'), s.env);
  if (!secretGone) throw new Error(`end left the sync Secret ${syncSecretName('Deployment', 'reviews-v1')} behind`);
  if (state.running) throw new Error(`end left the local sync running (pid ${state.pid})`);
  return after;
}

// ─── with a real node ──────────────────────────────────────────────────────────────────

/** The stand-in for a bookinfo image: busybox httpd on 9080 saying which Deployment and image it stands for; ends on SIGTERM. */
function standIn(name: string, image: string): string[] {
  const page = `${name}: stand-in for ${image} (busybox httpd; the node cannot pull the bookinfo images)`;
  return ['/bin/sh', '-c', `mkdir -p /tmp/www && echo '${page}' > /tmp/www/index.html && trap 'kill $! 2>/dev/null; exit 0' TERM INT; httpd -f -p 9080 -h /tmp/www & wait`];
}

/** bookinfo.yaml with every Deployment's image replaced by the stand-in (the file itself is unchanged). */
async function bookinfoForTheNode(): Promise<{ yaml: string; replaced: string[] }> {
  const YAML = (await import('yaml')).default;
  const docs = YAML.parseAllDocuments(readFileSync(join(ROOT, 'scripts', 'demo', 'bookinfo.yaml'), 'utf8'));
  const replaced: string[] = [];
  const out: string[] = [];
  for (const doc of docs) {
    const obj = doc.toJS();
    if (!obj) continue;
    if (obj.kind === 'Deployment') {
      for (const c of obj.spec.template.spec.containers) {
        replaced.push(`${obj.metadata.name}: ${c.image}`);
        c.command = standIn(obj.metadata.name, c.image);
        c.image = STAND_IN_IMAGE;
      }
    }
    out.push(YAML.stringify(obj));
  }
  return { yaml: out.join('---\n'), replaced };
}

/** The answer of deployment/reviews-v1's port 9080 through `kubectl port-forward` (the user's way, no kubectl-dev). */
async function viaKubectlPortForward(s: Setup): Promise<string> {
  const pf = background('kubectl', ['port-forward', '-n', s.ns, WORKLOAD, ':9080'], s.env, s.work);
  try {
    const port = Number((await until('kubectl port-forward', () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(pf.out()), 60_000, () => pf.err()))[1]);
    return await answerOn(port, () => true, 60_000, 'any answer');
  } finally {
    pf.child.kill('SIGTERM');
    await pf.exited;
  }
}

const SERVER = (stars: string) => `// The reviews service, as you would develop it: edit, save, and the dev server restarts in the pod.
const http = require('node:http');
const stars = '${stars}';
http.createServer((req, res) => res.end(\`reviews-v1 from the synced source: \${stars} (node \${process.version}, pid \${process.pid})\\n\`))
  .listen(9080, () => console.log('listening on 9080'));
`;

async function realDemo(work: string, node: string | undefined): Promise<void> {
  stepCount = 9;
  const { bin, kubectl } = await step(EXISTING ? 'Build the CLI' : 'Build the test control plane (first run: Go compiles Kubernetes, several minutes) and the CLI', () => buildStep(work, !EXISTING));

  let kubeconfig: string;
  let ns = 'bookinfo';
  if (EXISTING) {
    kubeconfig = EXISTING;
    ns = `bookinfo-demo-${randomBytes(3).toString('hex')}`;
    await step(`Use the running test cluster (KUBECONFIG_TEST) and its real node ${node}`, async () => {
      show(`KUBECONFIG=${kubeconfig}; the demo works in namespace ${ns} and deletes it at the end`);
    });
  } else {
    const { startCluster } = await import('../test/cluster/cluster.ts');
    const cluster = await step('Start the embedded cluster (kube-apiserver, etcd, controllers, and a real node: kubelet + containerd + runc; the first run builds them and the node\'s images)', () =>
      startCluster({ dir: join(work, 'cluster'), owned: !KEEP, realNode: true, nodes: 0 }));
    if (!KEEP) cleanups.push(() => cluster.stop());
    if (!cluster.realNode) throw new Error('the cluster started without its real node');
    kubeconfig = cluster.kubeconfigPath;
    show(`API server ${cluster.server}, node ${cluster.realNode} (kubelet, containerd, runc; images on the node only, no registry); KUBECONFIG=${kubeconfig}`);
  }
  const s = await setupFor(work, bin, kubectl, kubeconfig, ns);
  if (EXISTING && !KEEP) cleanups.push(async () => { await s.core.deleteNamespace({ name: ns }).catch(() => undefined); });

  const firstAnswer = await step('Deploy the bookinfo sample (each image replaced by a stand-in the node has) and ask reviews-v1 through kubectl port-forward', async () => {
    await createNamespace(s);
    const { yaml, replaced } = await bookinfoForTheNode();
    show(`The node has no registry and no network, so the bookinfo images cannot be pulled; as applied, each Deployment runs ${STAND_IN_IMAGE} (httpd on 9080) instead of:\n${replaced.map((r) => `  ${r}`).join('\n')}`);
    s.run(['apply', '-n', ns, '-f', '-'], { input: yaml, quiet: true });
    s.run(['rollout', 'status', '-n', ns, WORKLOAD, '--timeout=300s'], { quiet: true });
    s.run(['get', 'deployments', '-n', ns]);
    const body = await viaKubectlPortForward(s);
    show(`$ kubectl port-forward ${WORKLOAD} :9080; GET /\n${body}`);
    return body;
  });
  const before = JSON.parse(s.run(['get', '-n', ns, WORKLOAD, '-o', 'json'], { quiet: true }));

  const src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'server.js'), SERVER('★★★☆☆'));
  writeFileSync(join(src, 'README.md'), '# reviews\n');
  const sync = await import('../src/sync/index.ts');
  const target = sync.syncTargetOf(s.kc, ns, 'Deployment', 'reviews-v1');
  cleanups.push(async () => { await sync.stopLocalSync(target, s.env).catch(() => false); });

  const startArgs = ['dev', 'start', WORKLOAD, '-n', ns, '--image', 'node:24', '--local-dir', src, '--run', 'node server.js', '-p', ':9080'];
  let dev!: Background;
  const { port } = await step(`kubectl dev start ${WORKLOAD} --image node:24 --local-dir SRC --run "node server.js" -p :9080`, async () => {
    dev = background('kubectl', startArgs, s.env, src);
    cleanups.push(async () => {
      if (dev.child.exitCode === null && dev.child.signalCode === null) {
        dev.child.kill('SIGKILL');
        await dev.exited;
      }
    });
    const detail = () => `its output so far:\n${dev.out()}${dev.err()}`;
    const forwardLine = /forwarding 127\.0\.0\.1:(\d+) → 9080/;
    const exitedEarly = dev.exited.then((code) => { throw new Error(`kubectl dev start exited with ${code}:\n${dev.out()}${dev.err()}`); });
    exitedEarly.catch(() => undefined); // it exits on purpose later (Ctrl-C)
    const port = Number((await Promise.race([until('the forward line', () => forwardLine.exec(dev.err()), 300_000, detail), exitedEarly]))[1]);
    const body = await Promise.race([answerOn(port, (b) => b.includes('★★★☆☆'), 300_000, 'the synced server\'s answer'), exitedEarly]);
    show(`${dim(`$ kubectl ${startArgs.join(' ')}   (running on; its output so far:)`)}\n${dev.err()}${dev.out()}`);
    show(`GET http://127.0.0.1:${port}/ (the -p forward, through the API server and the kubelet into the dev pod)\n${body}`);
    const ps = s.run(['dev', 'exec', WORKLOAD, '-n', ns, '--', 'ps', '-o', 'pid,user,args'], { quiet: true });
    show(`${dim(`$ kubectl dev exec ${WORKLOAD} -n ${ns} -- ps -o pid,user,args`)}\n${ps}`);
    return { port };
  });

  await step('Edit SRC/server.js and watch the HTTP response change through the forward', async () => {
    const errBefore = dev.err().length;
    const started = process.hrtime.bigint();
    writeFileSync(join(src, 'server.js'), SERVER('★★★★★'));
    const body = await answerOn(port, (b) => b.includes('★★★★★'), 60_000, 'the edited server\'s answer');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    show(`saved SRC/server.js (★★★☆☆ → ★★★★★); ${ms.toFixed(0)} ms later GET http://127.0.0.1:${port}/ answered:\n${body}`);
    show(`kubectl dev start said meanwhile:\n${dev.err().slice(errBefore)}${dev.out().split('\n').filter((l) => l.startsWith('[reviews]')).slice(-1).join('\n')}`);
  });

  await step('kubectl dev status', () => {
    s.run(['dev', 'status', '-n', ns]);
  });

  await step('Ctrl-C in the kubectl dev start terminal: the dev server stops, dev mode stays', async () => {
    const errBefore = dev.err().length;
    dev.child.kill('SIGINT');
    const code = await Promise.race([dev.exited, sleep(60_000).then(() => 'still running 60 s after SIGINT')]);
    if (code !== 0) throw new Error(`kubectl dev start after Ctrl-C: ${code}\n${dev.err().slice(-2_000)}`);
    const ps = s.run(['dev', 'exec', WORKLOAD, '-n', ns, '--', 'ps', '-o', 'pid,user,args'], { quiet: true });
    if (/node server\.js/.test(ps)) throw new Error(`node server.js still runs in the dev container:\n${ps}`);
    show(`${dev.err().slice(errBefore)}exit code 0; the dev container runs only its blocking PID 1 now:\n${ps}`);
  });

  await step(`kubectl dev end ${WORKLOAD}`, () => {
    s.run(['dev', 'end', WORKLOAD, '-n', ns]);
  });

  await step('Check the Deployment equals what it was before start, nothing of dev mode is left, and it answers as before', async () => {
    const after = await checkRestored(s, before);
    s.run(['rollout', 'status', '-n', ns, WORKLOAD, '--timeout=300s'], { quiet: true });
    const body = await viaKubectlPortForward(s);
    if (body !== firstAnswer) throw new Error(`reviews-v1 answers differently after end:\nbefore: ${firstAnswer}\nafter:  ${body}`);
    show(`same UID (${after.metadata.uid}), labels, annotations and spec as before start; sync Secret removed; local sync stopped`);
    show(`$ kubectl port-forward ${WORKLOAD} :9080; GET /\n${body}`);
  });

  if (KEEP) {
    process.stdout.write(`\nKept: ${work}\n  export KUBECONFIG=${kubeconfig}\n  ${EXISTING ? `kubectl delete namespace ${ns}` : `stop: npm run cluster:down -- --dir=${join(work, 'cluster')}`}\n`);
  }
}

// ─── without a real node: KWOK ─────────────────────────────────────────────────────────

async function kwokDemo(work: string, why: string): Promise<void> {
  stepCount = 10;
  process.stdout.write(`${bold('No real node on this machine')} (${why}):\nthe demo runs on KWOK nodes, which run no containers — the dev pod's sync sidecar is a syncthing on this\nmachine reached through the API server's port-forward, and the container's work dir is a local directory.\n\n`);
  const { bin, kubectl } = await step(EXISTING ? 'Build the CLI' : 'Build the test control plane (first run: Go compiles Kubernetes, several minutes) and the CLI', async () => {
    // The stand-in sidecar listens where the real one does in its pod; nothing else may.
    const { portIsFree } = await import('../test/unit/sync/support.ts');
    for (const port of [22000, 8384]) {
      if (!(await portIsFree(port))) {
        throw new Error(`127.0.0.1:${port} is in use (another syncthing? ss -ltnp 'sport = :${port}' shows which); the demo's stand-in for the dev pod's sync sidecar listens there. Stop it and run npm run demo again.`);
      }
    }
    return buildStep(work, !EXISTING);
  });

  let kubeconfig: string;
  let ns = 'bookinfo';
  if (EXISTING) {
    kubeconfig = EXISTING;
    ns = `bookinfo-demo-${randomBytes(3).toString('hex')}`;
    await step('Use the running test cluster (KUBECONFIG_TEST)', () => show(`KUBECONFIG=${kubeconfig}; namespace ${ns}, deleted at the end`));
  } else {
    const { startCluster } = await import('../test/cluster/cluster.ts');
    const cluster = await step('Start the embedded cluster (kube-apiserver, etcd, controllers, 2 KWOK nodes)', () => startCluster({ dir: join(work, 'cluster'), owned: !KEEP, realNode: false }));
    if (!KEEP) cleanups.push(() => cluster.stop());
    kubeconfig = cluster.kubeconfigPath;
    show(`API server ${cluster.server}, nodes ${cluster.nodes.join(', ')}; KUBECONFIG=${kubeconfig}`);
  }
  const s = await setupFor(work, bin, kubectl, kubeconfig, ns);
  if (EXISTING && !KEEP) cleanups.push(async () => { await s.core.deleteNamespace({ name: ns }).catch(() => undefined); });
  const { core, kc, run, env } = s;

  await step('Deploy the bookinfo sample', async () => {
    await createNamespace(s);
    run(['apply', '-n', ns, '-f', join(ROOT, 'scripts', 'demo', 'bookinfo.yaml')], { quiet: true });
    run(['rollout', 'status', '-n', ns, WORKLOAD, '--timeout=120s'], { quiet: true });
    run(['get', 'deployments', '-n', ns]);
  });
  const before = JSON.parse(run(['get', '-n', ns, WORKLOAD, '-o', 'json'], { quiet: true }));

  // The container's work dir: KWOK runs no containers, so the fake sidecar writes here.
  const containerDir = join(work, 'container', 'app');
  const src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'ReviewsResource.java'), 'class ReviewsResource { String stars() { return "★★★☆☆"; } }\n');
  writeFileSync(join(src, 'README.md'), '# reviews\n');

  await step(`kubectl dev start ${WORKLOAD} --no-sync`, () => {
    run(['dev', 'start', WORKLOAD, '-n', ns, '--no-sync', '--workdir', containerDir, '--timeout', '2m']);
  });

  const { syncSecretName, workloadLabelValue } = await import('../src/core/names.ts');
  const { WORKLOAD_LABEL } = await import('../src/core/marks.ts');
  const { startFakeSidecar } = await import('../test/e2e/sync-sidecar.ts');
  await step('Play the dev pod\'s sync sidecar: a local syncthing, reached through the API server\'s port-forward', async () => {
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'reviews-v1'), namespace: ns });
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'reviews-v1')}` });
    const pod = pods.items.find((p) => p.status?.phase === 'Running')?.metadata?.name;
    if (!pod) throw new Error('no running dev pod found');
    const sidecar = await startFakeSidecar(kc, { namespace: ns, pod, secret, home: join(work, 'sidecar-home') });
    cleanups.push(() => sidecar.stop());
    show(`dev pod ${pod}: its ports 22000 and 8384 now reach a syncthing on this machine (home ${sidecar.home}, folder ${sidecar.workdir})`);
  });

  const sync = await import('../src/sync/index.ts');
  const target = sync.syncTargetOf(kc, ns, 'Deployment', 'reviews-v1');
  cleanups.push(async () => { await sync.stopLocalSync(target, env).catch(() => false); });
  await step(`kubectl dev sync ${WORKLOAD} --local-dir SRC --wait`, () => {
    run(['dev', 'sync', WORKLOAD, '-n', ns, '--local-dir', src, '--wait', '--timeout', '2m']);
    show(`container work dir now has: ${spawnSync('ls', [containerDir], { encoding: 'utf8' }).stdout.trim().split('\n').join(', ')}`);
  });

  await step('Edit a file in SRC and watch it arrive in the container', async () => {
    const file = join(containerDir, 'ReviewsResource.java');
    const text = 'class ReviewsResource { String stars() { return "★★★★★"; } }\n';
    const started = process.hrtime.bigint();
    writeFileSync(join(src, 'ReviewsResource.java'), text);
    const deadline = Date.now() + 30_000;
    while (!(existsSync(file) && readFileSync(file, 'utf8') === text)) {
      if (Date.now() > deadline) throw new Error(`${file} did not get the edit within 30 s`);
      await sleep(5);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    show(`saved SRC/ReviewsResource.java → arrived in the container after ${ms.toFixed(0)} ms:\n${readFileSync(file, 'utf8')}`);
  });

  await step('kubectl dev status', () => {
    run(['dev', 'status', '-n', ns]);
  });

  await step(`kubectl dev end ${WORKLOAD}`, () => {
    run(['dev', 'end', WORKLOAD, '-n', ns]);
  });

  await step('Check the Deployment equals what it was before start, and nothing of dev mode is left', async () => {
    const after = await checkRestored(s, before);
    show(`same UID (${after.metadata.uid}), labels, annotations and spec as before start; sync Secret removed; local sync stopped`);
  });

  if (KEEP) {
    process.stdout.write(`\nKept: ${work}\n  export KUBECONFIG=${kubeconfig}\n  ${EXISTING ? `kubectl delete namespace ${ns}` : `stop: npm run cluster:down -- --dir=${join(work, 'cluster')}`}\n`);
  }
}

async function main(): Promise<void> {
  // Where the loop can run for real: a real node in the given cluster, or one this machine can start.
  let node: string | undefined;
  let why = '';
  if (EXISTING) {
    node = await realNodeOf(EXISTING);
    if (!node) why = `the cluster at KUBECONFIG_TEST=${EXISTING} has no Ready node labelled ${REAL_NODE_LABEL}=true`;
  } else {
    const { realNodeProblems } = await import('../test/cluster/node.ts');
    const problems = realNodeProblems();
    if (problems.length === 0) node = '127.0.0.1';
    else why = problems.join('; ');
  }
  const where = EXISTING
    ? `It uses only the test cluster at KUBECONFIG_TEST (${EXISTING}), in a namespace of its own, removed at the end with everything else.`
    : 'Nothing here touches your kubeconfig or a real cluster; everything lives in a temp dir and is removed at the end.';
  process.stdout.write(`${bold(`kubectl dev — the whole loop on an embedded cluster${node ? ', with a real node' : ' (KWOK nodes)'}`)}\n${dim(where)}\n\n`);
  const work = mkdtempSync(join(tmpdir(), 'kubectl-dev-demo-'));
  chmodSync(work, 0o755);
  if (!KEEP) cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  if (node) await realDemo(work, node);
  else await kwokDemo(work, why);
  process.stdout.write(`\n${green('Done.')} Next: ${bold('npm test')} runs every test; docs/shipping.md shows how to install the binary and kubectl dev doctor.\n`);
}

try {
  await main();
  await cleanup();
} catch (error) {
  process.stderr.write(`\n${red('demo failed:')} ${(error as Error).message}\n`);
  await cleanup();
  process.exitCode = 1;
}
// A few handles (client-node keep-alive sockets) may linger; the demo is over.
setTimeout(() => process.exit(), 500).unref();
