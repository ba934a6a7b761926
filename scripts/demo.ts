// `npm run demo`: the newcomer's first command. On an embedded default cluster (the test
// control plane: a real kube-apiserver, etcd, controllers and KWOK nodes, all local):
//   1. builds the control plane if needed (Go) and the CLI, starts the cluster in a temp dir
//   2. deploys the bookinfo sample (scripts/demo/bookinfo.yaml, Istio's, Apache-2.0)
//   3. kubectl dev start deployment/reviews-v1 --no-sync
//   4. plays the dev pod's sync sidecar with a local syncthing fed from the workload's Secret,
//      reached through the API server's port-forward (exactly as the sync e2e tests do: KWOK
//      has no containers, so the "container" is a directory on this machine)
//   5. kubectl dev sync deployment/reviews-v1 --local-dir SRC --wait, then edits a file in SRC
//      and shows it arrive in the container's work dir
//   6. kubectl dev status, kubectl dev end, and checks the Deployment equals what it was
// Everything is stopped and removed at the end, also on Ctrl-C. `kubectl dev` is run through
// the real kubectl 1.35 (its plugin mechanism finds kubectl-dev on PATH).
//
//   npm run demo [-- --keep] [-- --binary]
//     --keep    leave the cluster and files for a look (prints how to stop)
//     --binary  use the single executable dist/kubectl-dev (built if missing) as kubectl-dev

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const KEEP = process.argv.includes('--keep');
/** --binary: run the single executable (dist/kubectl-dev, built if missing) instead of the bundled CLI. */
const BINARY = process.argv.includes('--binary');
const NS = 'bookinfo';
const WORKLOAD = 'deployment/reviews-v1';
const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);

const STEPS = [
  'Build the test control plane (first run: Go compiles Kubernetes, several minutes) and the CLI',
  'Start the embedded cluster (kube-apiserver, etcd, controllers, 2 KWOK nodes)',
  'Deploy the bookinfo sample',
  `kubectl dev start ${WORKLOAD} --no-sync`,
  'Play the dev pod\'s sync sidecar: a local syncthing, reached through the API server\'s port-forward',
  `kubectl dev sync ${WORKLOAD} --local-dir SRC --wait`,
  'Edit a file in SRC and watch it arrive in the container',
  'kubectl dev status',
  `kubectl dev end ${WORKLOAD}`,
  'Check the Deployment equals what it was before start, and nothing of dev mode is left',
];
let stepNo = 0;

/** One step: a line with a spinner on a terminal while it runs, then ✓ or ✗ with the time. */
async function step<T>(run: () => Promise<T> | T): Promise<T> {
  const title = STEPS[stepNo] as string;
  stepNo++;
  const label = `[${stepNo}/${STEPS.length}] ${title}`;
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

async function main(): Promise<void> {
  process.stdout.write(`${bold('kubectl dev — the whole loop on an embedded cluster')}\n${dim('Nothing here touches your kubeconfig or a real cluster; everything lives in a temp dir and is removed at the end.')}\n\n`);
  const work = mkdtempSync(join(tmpdir(), 'kubectl-dev-demo-'));
  chmodSync(work, 0o755);
  if (!KEEP) cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  const { ensureBuilt } = await import('../test/cluster/build.lib.ts');
  const { startCluster } = await import('../test/cluster/cluster.ts');
  const { kubectlBinary } = await import('../test/support/binaries.ts');

  let kubectl = '';
  await step(async () => {
    // The stand-in sidecar listens where the real one does in its pod; nothing else may.
    const { portIsFree } = await import('../test/unit/sync/support.ts');
    for (const port of [22000, 8384]) {
      if (!(await portIsFree(port))) {
        throw new Error(`127.0.0.1:${port} is in use (another syncthing? ss -ltnp 'sport = :${port}' shows which); the demo's stand-in for the dev pod's sync sidecar listens there. Stop it and run npm run demo again.`);
      }
    }
    await ensureBuilt();
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.ts')], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stderr}`);
    kubectl = kubectlBinary();
    if (BINARY && !existsSync(join(ROOT, 'dist', 'kubectl-dev'))) {
      const { buildBinary } = await import('./build-binary.ts');
      await buildBinary();
    }
  });

  // kubectl finds plugins on PATH: put kubectl-dev (this checkout's CLI) there.
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'kubectl-dev'), BINARY
    ? `#!/bin/sh\nexec "${join(ROOT, 'dist', 'kubectl-dev')}" "$@"\n`
    : `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist', 'kubectl-dev.cjs')}" "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\nexec "${kubectl}" "$@"\n`, { mode: 0o755 });

  const cluster = await step(() => startCluster({ dir: join(work, 'cluster'), owned: !KEEP }));
  if (!KEEP) cleanups.push(() => cluster.stop());
  show(`API server ${cluster.server}, nodes ${cluster.nodes.join(', ')}; KUBECONFIG=${cluster.kubeconfigPath}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env, PATH: `${bin}:${process.env.PATH}`, KUBECONFIG: cluster.kubeconfigPath,
    XDG_CONFIG_HOME: join(work, 'config'), NO_COLOR: '1',
  };
  process.env.KUBECONFIG = cluster.kubeconfigPath;

  const run = (args: string[], opts: { input?: string; quiet?: boolean } = {}) => {
    const result = spawnSync('kubectl', args, { env, encoding: 'utf8', input: opts.input ?? '', timeout: 180_000 });
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
    // Progress (stderr) first: it happened before the result (stdout).
    if (!opts.quiet) show(`${dim(`$ kubectl ${args.join(' ')}`)}\n${result.stderr}${result.stdout}`);
    return result.stdout;
  };

  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);

  await step(async () => {
    run(['create', 'namespace', NS], { quiet: true });
    const { waitFor } = await import('../test/support/cluster.ts');
    await waitFor(`ServiceAccount default in ${NS}`, () => core.readNamespacedServiceAccount({ name: 'default', namespace: NS }).then(() => true, () => false), 30_000);
    run(['apply', '-n', NS, '-f', join(ROOT, 'scripts', 'demo', 'bookinfo.yaml')], { quiet: true });
    run(['rollout', 'status', '-n', NS, WORKLOAD, '--timeout=120s'], { quiet: true });
    run(['get', 'deployments', '-n', NS]);
  });
  const before = JSON.parse(run(['get', '-n', NS, WORKLOAD, '-o', 'json'], { quiet: true }));

  // The container's work dir: KWOK runs no containers, so the fake sidecar writes here.
  const containerDir = join(work, 'container', 'app');
  const src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'ReviewsResource.java'), 'class ReviewsResource { String stars() { return "★★★☆☆"; } }\n');
  writeFileSync(join(src, 'README.md'), '# reviews\n');

  await step(() => {
    run(['dev', 'start', WORKLOAD, '-n', NS, '--no-sync', '--workdir', containerDir, '--timeout', '2m']);
  });

  const { syncSecretName, workloadLabelValue } = await import('../src/core/names.ts');
  const { WORKLOAD_LABEL } = await import('../src/core/marks.ts');
  const { startFakeSidecar } = await import('../test/e2e/sync-sidecar.ts');
  await step(async () => {
    const secret = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'reviews-v1'), namespace: NS });
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'reviews-v1')}` });
    const pod = pods.items.find((p) => p.status?.phase === 'Running')?.metadata?.name;
    if (!pod) throw new Error('no running dev pod found');
    const sidecar = await startFakeSidecar(kc, { namespace: NS, pod, secret, home: join(work, 'sidecar-home') });
    cleanups.push(() => sidecar.stop());
    show(`dev pod ${pod}: its ports 22000 and 8384 now reach a syncthing on this machine (home ${sidecar.home}, folder ${sidecar.workdir})`);
  });

  const sync = await import('../src/sync/index.ts');
  const target = sync.syncTargetOf(kc, NS, 'Deployment', 'reviews-v1');
  cleanups.push(async () => { await sync.stopLocalSync(target, env).catch(() => false); });
  await step(() => {
    run(['dev', 'sync', WORKLOAD, '-n', NS, '--local-dir', src, '--wait', '--timeout', '2m']);
    show(`container work dir now has: ${spawnSync('ls', [containerDir], { encoding: 'utf8' }).stdout.trim().split('\n').join(', ')}`);
  });

  await step(async () => {
    const file = join(containerDir, 'ReviewsResource.java');
    const text = 'class ReviewsResource { String stars() { return "★★★★★"; } }\n';
    const started = process.hrtime.bigint();
    writeFileSync(join(src, 'ReviewsResource.java'), text);
    const deadline = Date.now() + 30_000;
    while (!(existsSync(file) && readFileSync(file, 'utf8') === text)) {
      if (Date.now() > deadline) throw new Error(`${file} did not get the edit within 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    show(`saved SRC/ReviewsResource.java → arrived in the container after ${ms.toFixed(0)} ms:\n${readFileSync(file, 'utf8')}`);
  });

  await step(() => {
    run(['dev', 'status', '-n', NS]);
  });

  await step(() => {
    run(['dev', 'end', WORKLOAD, '-n', NS]);
  });

  await step(async () => {
    const after = JSON.parse(run(['get', '-n', NS, WORKLOAD, '-o', 'json'], { quiet: true }));
    const restorable = (o: any) => {
      const annotations = { ...(o.metadata.annotations ?? {}) };
      delete annotations['deployment.kubernetes.io/revision'];
      return { uid: o.metadata.uid, labels: o.metadata.labels, annotations, spec: o.spec };
    };
    if (!isDeepStrictEqual(restorable(before), restorable(after))) {
      throw new Error(`the Deployment differs from before start:\nbefore: ${JSON.stringify(restorable(before))}\nafter:  ${JSON.stringify(restorable(after))}`);
    }
    const secretGone = await core.readNamespacedSecret({ name: syncSecretName('Deployment', 'reviews-v1'), namespace: NS }).then(() => false, () => true);
    const state = await sync.readSyncState(target, env);
    if (!secretGone) throw new Error(`end left the sync Secret ${syncSecretName('Deployment', 'reviews-v1')} behind`);
    if (state.running) throw new Error(`end left the local sync running (pid ${state.pid})`);
    show(`same UID (${after.metadata.uid}), labels, annotations and spec as before start; sync Secret removed; local sync stopped`);
  });

  if (KEEP) {
    process.stdout.write(`\nKept: ${work}\n  export KUBECONFIG=${cluster.kubeconfigPath}\n  stop: npm run cluster:down -- --dir=${join(work, 'cluster')}\n`);
  }
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
