// The sync benchmarks' dev pod on the test cluster's real node: a Deployment put in dev mode by
// `kubectl dev start --no-sync` (its Secret, its dev pod with the product's syncthing sidecar
// from the default image), fresh sidecars by replacing the pod, and what a benchmark reads in
// the containers (through the e2e helpers in test/support/pods.ts, over the real kubectl exec).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../src/core/marks.ts';
import { workloadLabelValue } from '../src/core/names.ts';
import { SYNCTHING_HOME } from '../src/core/settings.ts';
import { FOLDER_ID } from '../src/sync/config.ts';
import { kubectlBinary } from '../test/support/binaries.ts';
import { createTestNamespace, testKubeconfigPath } from '../test/support/cluster.ts';
import { deletePodAndWait, execInAsync, readyPod, sidecarGet } from '../test/support/pods.ts';
import type { BenchCluster } from './cluster.ts';

/** The dev container's work dir (the product's default): the sidecar's folder. */
export const WORKDIR = '/workspace';
/** The original container, which dev mode turns into the dev container. */
export const DEV_CONTAINER = 'app';
/** A PID 1 that blocks and ends on SIGTERM, for the original pod (it stops when dev mode starts). */
const BLOCKING = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"];

/** The e2e helpers find the cluster in $KUBECONFIG_TEST: point it at the benchmark's cluster (its own or the given one). */
export function useForHelpers(cluster: BenchCluster): void {
  process.env.KUBECONFIG_TEST = cluster.kubeconfig;
}

export interface DevWorkload {
  kc: k8s.KubeConfig;
  namespace: string;
  /** The current dev pod (changes with freshSidecar). */
  pod: string;
  /** `syncthing --version` of the sidecar, as its REST API gives it. */
  sidecarVersion: string;
  /** Replaces the dev pod (new emptyDirs: an empty work dir and a sidecar syncthing with no database) and waits for its syncthing. */
  freshSidecar(): Promise<string>;
  remove(): Promise<void>;
}

/**
 * Creates Deployment `web` (busybox, blocking) in a new namespace and runs `kubectl dev start
 * deployment/web --image IMAGE --no-sync` with `cli` (a command line: the binary, or node and a
 * bundle) and `env`; waits for the dev pod's sidecar syncthing to answer.
 */
export async function startDevWorkload(o: { kc: k8s.KubeConfig; prefix: string; cli: string[]; env: NodeJS.ProcessEnv; image: string; sidecarImage?: string; cwd: string }): Promise<DevWorkload> {
  const { name: namespace, remove } = await createTestNamespace(o.kc, o.prefix);
  try {
    await o.kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace,
      body: { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: DEV_CONTAINER, image: 'docker.io/library/busybox:1.36', command: BLOCKING }] } } } },
    });
    const args = ['start', 'deployment/web', '-n', namespace, '--image', o.image, '--no-sync', '--timeout', '300s', ...(o.sidecarImage ? ['--sidecar-image', o.sidecarImage] : [])];
    const r = spawnSync(o.cli[0]!, [...o.cli.slice(1), ...args], { cwd: o.cwd, env: o.env, encoding: 'utf8', timeout: 360_000 });
    if (r.status !== 0) throw new Error(`kubectl dev ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}${r.error?.message ?? ''}`);
  } catch (error) {
    await remove();
    throw error;
  }
  const selector = `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'web')}`;
  const w: DevWorkload = {
    kc: o.kc, namespace, pod: '', sidecarVersion: '',
    async freshSidecar() {
      const old = w.pod;
      await deletePodAndWait(o.kc, namespace, old, 180_000);
      w.pod = await readyPod(o.kc, namespace, selector, [old], 180_000);
      await sidecarUp(namespace, w.pod);
      return w.pod;
    },
    remove,
  };
  w.pod = await readyPod(o.kc, namespace, selector, [], 180_000);
  w.sidecarVersion = await sidecarUp(namespace, w.pod);
  return w;
}

/** Waits until the sidecar's syncthing answers its REST API (a Ready pod's may still be starting); its version. */
async function sidecarUp(namespace: string, pod: string): Promise<string> {
  return (await sidecarGet<{ version: string }>(namespace, pod, '/rest/system/version')).version;
}

/** Pauses the sidecar's folder (syncthing's own CLI in the sidecar), so that its scans stay out of a copy into it. */
export async function pauseSidecarFolder(namespace: string, pod: string): Promise<void> {
  const r = await execInAsync(namespace, pod, SIDECAR_CONTAINER, ['/bin/syncthing', 'cli', `--home=${SYNCTHING_HOME}`, 'config', 'folders', FOLDER_ID, 'paused', 'set', 'true']);
  if (r.code !== 0) throw new Error(`pausing the sidecar's folder failed (${r.code}): ${r.stderr}`);
}

/** Regular files under `dir` in the container, without syncthing's own (.st*, .syncthing.* temp files), as the host-side count did. */
export async function countFilesIn(namespace: string, pod: string, container: string, dir: string): Promise<number> {
  const r = await execInAsync(namespace, pod, container, ['sh', '-c', `find "$1" \\( -name '.st*' -o -name '.syncthing.*' \\) -prune -o -type f -print | wc -l`, 'sh', dir]);
  if (r.code !== 0) throw new Error(`counting files in ${pod}/${container}:${dir} failed (${r.code}): ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Wall clock in ms with sub-ms precision, comparable with the same expression in a container on this machine (one kernel clock). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Watches a file in the dev container; prints "A <content> <wall clock ms>" on every change (fs.watch and a 1 ms poll, as bench/hot-reload.ts). */
const POLLER = `
const fs = require('node:fs');
const f = process.argv[1];
let last;
const check = () => {
  let c;
  try { c = fs.readFileSync(f, 'utf8'); } catch { return; }
  if (c === last) return;
  last = c;
  process.stdout.write('A ' + c.trim() + ' ' + (performance.timeOrigin + performance.now()).toFixed(3) + '\\n');
};
try { fs.watch(require('node:path').dirname(f), check); } catch {}
setInterval(check, 1);
setTimeout(() => process.exit(0), 3600000);
console.log('ready');
`;

export interface ArrivalProbe {
  /** Resolves with the container's wall clock (ms) when the file holds `content` (one line, no newline). */
  arrival(content: string, timeoutMs?: number): Promise<number>;
  stop(): void;
}

/** Starts the poller in the dev container (its image must have node) on `file`, over `kubectl exec`. */
export async function arrivalProbe(namespace: string, pod: string, file: string): Promise<ArrivalProbe> {
  const child: ChildProcess = spawn(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), 'exec', '-n', namespace, pod, '-c', DEV_CONTAINER, '--', 'node', '-e', POLLER, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Map<string, number>();
  const waiters = new Map<string, (ms: number) => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let partial = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') ready();
      const m = /^A (.*) ([\d.]+)$/.exec(line);
      if (!m) continue;
      seen.set(m[1]!, Number(m[2]));
      waiters.get(m[1]!)?.(Number(m[2]));
    }
  });
  const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`the arrival probe in ${pod} exited (${code}): ${err.slice(-1000)}`))));
  exited.catch(() => {});
  await Promise.race([isReady, exited]);
  return {
    arrival: (content, timeoutMs = 30_000) => {
      const at = seen.get(content);
      if (at !== undefined) return Promise.resolve(at);
      return Promise.race([exited, new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${content} did not arrive in ${pod}:${file} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(content, (ms) => {
          clearTimeout(timer);
          waiters.delete(content);
          resolve(ms);
        });
      })]);
    },
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}
