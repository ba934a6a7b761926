// Shared by the live-mode e2e tests: the six kinds' workloads (from fixtures/ and the
// corpus, made to run on the test cluster's real node), applying them with the real kubectl,
// and reading what `end` must restore.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { IMAGES } from '../cluster/images.ts';
import { REAL_NODE_LABEL } from '../cluster/node.ts';
import { kubectlBinary } from '../support/binaries.ts';
import { testKubeconfigPath } from '../support/cluster.ts';
import { BIN, ROOT, runCli, type CliResult } from '../cli/run-cli.ts';

export interface LiveCase {
  /** KIND/NAME as typed on the command line. */
  target: string;
  apiVersion: string;
  kind: string;
  name: string;
  /** Manifests applied to the namespace first (namespace fields removed). */
  manifests: string;
  /** Name of the generated object that runs the dev pod, if any. */
  generated?: { apiVersion: string; kind: string; name: string };
}

const corpus = (file: string) => readFileSync(join(ROOT, '..', 'shared', 'corpus', file), 'utf8');
const fixture = (name: string) => readFileSync(join(ROOT, 'fixtures', name, 'input.yaml'), 'utf8');

/** The images the test node has (nothing can be pulled), by their full names. */
const NODE_IMAGES = new Set(IMAGES.map((i) => i.name));
export const STAND_IN_IMAGE = 'busybox:1.36';

/** `busybox` → `docker.io/library/busybox:latest`, as the container runtime reads a reference. */
export function fullImageName(image: string): string {
  const first = image.split('/')[0]!;
  let name = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? image : `docker.io/${image.includes('/') ? '' : 'library/'}${image}`;
  if (!/:[^/]+$/.test(name) && !name.includes('@')) name += ':latest';
  return name;
}

/**
 * The stand-in for an app whose image the node lacks: busybox httpd listens on the container's
 * TCP ports (so that tcpSocket probes pass), then PID 1 blocks and ends at once on SIGTERM.
 */
export function standInCommand(ports: number[] = []): string[] {
  return ['/bin/sh', '-c', [...ports.map((p) => `httpd -p ${p} -h /`), "trap 'exit 0' TERM INT", 'tail -f /dev/null & wait'].join('; ')];
}

/** Where each kind keeps its pod spec. */
function podSpecsOf(o: any): any[] {
  if (o.kind === 'Pod') return [o.spec];
  if (o.kind === 'CronJob') return [o.spec?.jobTemplate?.spec?.template?.spec];
  return [o.spec?.template?.spec];
}

interface PortableOptions {
  /** Old API versions the server no longer serves → the served ones. */
  apiVersions?: Record<string, string>;
  /** Init containers by name → a command that does their job offline (the node has no way out). */
  initCommands?: Record<string, string[]>;
}

/**
 * Makes a corpus or fixture manifest run for real on the test node: drops `metadata.namespace`
 * (the test picks the namespace), rewrites old API versions; every container image the node does
 * not have becomes busybox:1.36, with the stand-in command unless its command is a /bin/sh
 * script (which busybox runs as written: the CronJob's); init containers get the offline command
 * given. A pod that tolerates every taint also gets the real node's label as nodeSelector: the
 * shared dev cluster has tainted KWOK nodes beside it (in CI there are none).
 */
function portable(text: string, options: PortableOptions = {}): string {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((o) => o && typeof o === 'object')
    .map((o) => {
      if (o.metadata) delete o.metadata.namespace;
      if (options.apiVersions?.[o.apiVersion]) o.apiVersion = options.apiVersions[o.apiVersion];
      for (const spec of podSpecsOf(o).filter(Boolean)) {
        for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
          if (NODE_IMAGES.has(fullImageName(c.image))) continue;
          c.image = STAND_IN_IMAGE;
          const init = options.initCommands?.[c.name];
          if (init) {
            c.command = init;
          } else if (c.command?.[0] !== '/bin/sh') {
            c.command = standInCommand((c.ports ?? []).filter((p: any) => (p.protocol ?? 'TCP') === 'TCP').map((p: any) => p.containerPort));
            delete c.args;
          }
        }
        if ((spec.tolerations ?? []).some((t: any) => t.operator === 'Exists' && t.key === undefined)) {
          spec.nodeSelector = { ...spec.nodeSelector, [REAL_NODE_LABEL]: 'true' };
        }
      }
      return stringify(o);
    })
    .join('---\n');
}

export const LIVE_CASES: LiveCase[] = [
  { target: 'deployment/reviews-v1', apiVersion: 'apps/v1', kind: 'Deployment', name: 'reviews-v1', manifests: portable(corpus('istio__bookinfo.yaml')) },
  { target: 'sts/cache', apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'cache', manifests: portable(fixture('statefulset-ondelete')) },
  { target: 'ds/log-agent', apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'log-agent', manifests: portable(fixture('daemonset-node-selector')), generated: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'log-agent-dev' } },
  { target: 'job/pi', apiVersion: 'batch/v1', kind: 'Job', name: 'pi', manifests: portable(corpus('kubernetes-website__job-pi.yaml')), generated: { apiVersion: 'batch/v1', kind: 'Job', name: 'pi-dev' } },
  { target: 'cj/hello', apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', manifests: portable(corpus('kubernetes-website__cronjob-hello.yaml'), { apiVersions: { 'batch/v1beta1': 'batch/v1' } }), generated: { apiVersion: 'batch/v1', kind: 'Job', name: 'hello-dev' } },
  { target: 'pod/init-demo', apiVersion: 'v1', kind: 'Pod', name: 'init-demo', manifests: portable(corpus('kubernetes-website__init-containers-pod.yaml'), { initCommands: { install: ['/bin/sh', '-c', 'echo "<p>init-demo</p>" > /work-dir/index.html'] } }) },
];

export function kubectl(args: string[], input?: string): CliResult {
  const result = spawnSync(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), ...args], { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function applyManifests(namespace: string, manifests: string): void {
  const result = kubectl(['create', '-n', namespace, '-f', '-'], manifests);
  if (result.code !== 0) throw new Error(`kubectl create failed: ${result.stderr}`);
}

/** The CLI under test, against the test cluster. */
export function dev(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  return runCli(args, { env: { KUBECONFIG: testKubeconfigPath(), ...env }, timeoutMs: 120_000 });
}

export function objectApi(kc: k8s.KubeConfig): k8s.KubernetesObjectApi {
  return k8s.KubernetesObjectApi.makeApiClient(kc);
}

export async function read(kc: k8s.KubeConfig, apiVersion: string, kind: string, name: string, namespace: string): Promise<any | undefined> {
  try {
    // Plain JSON through kubectl keeps every field exactly as the server has it.
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const resource = group ? `${kind.toLowerCase()}.${version}.${group}` : kind.toLowerCase();
    const result = kubectl(['get', '-n', namespace, resource, name, '-o', 'json']);
    if (result.code !== 0) return undefined;
    return JSON.parse(result.stdout);
  } catch {
    return undefined;
  }
}

const CONTROLLER_ANNOTATIONS = ['deployment.kubernetes.io/revision', 'deprecated.daemonset.template.generation'];

/** What `end` must give back: labels, annotations (less those controllers keep up to date), spec and UID. */
export function restorable(obj: any): unknown {
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  for (const key of CONTROLLER_ANNOTATIONS) delete annotations[key];
  const spec = structuredClone(obj.spec);
  if (obj.kind === 'Pod') {
    // Recreated pods get a new UID and node from the scheduler; the rest of the spec must match.
    delete spec.nodeName;
    return { labels: obj.metadata.labels, annotations, spec };
  }
  return { uid: obj.metadata.uid, labels: obj.metadata.labels, annotations, spec };
}

/** The CLI under test, without blocking this process (so that the test can watch the cluster meanwhile). */
/** `onStdout` sees the output so far, on each chunk: a test can wait for a line the command printed. */
export function devAsync(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000, onStdout?: (soFar: string) => void): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', KUBECONFIG: testKubeconfigPath(), ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface Termination {
  /** From the first sight of the pod's deletionTimestamp until the pod (that UID) was gone. */
  terminatingMs: number;
  gracePeriodSeconds: number;
}

/**
 * Follows one pod (by UID: a StatefulSet or a restored Pod reuses the name) until it is gone,
 * polling every 200 ms, and says how long it was terminating: a PID 1 that ignores SIGTERM
 * takes its whole grace period (30 s by default), one that honours it a second or two.
 */
export function followUntilGone(kc: k8s.KubeConfig, namespace: string, name: string, timeoutMs = 120_000): Promise<Termination> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return (async () => {
    const first = await core.readNamespacedPod({ name, namespace });
    const uid = first.metadata!.uid;
    const gracePeriodSeconds = first.spec?.terminationGracePeriodSeconds ?? 30;
    const deadline = Date.now() + timeoutMs;
    let terminatingSince: number | undefined = first.metadata?.deletionTimestamp ? Date.now() : undefined;
    for (;;) {
      const pod = await core.readNamespacedPod({ name, namespace }).catch((e) => (e?.code === 404 ? undefined : Promise.reject(e)));
      const now = Date.now();
      if (!pod || pod.metadata?.uid !== uid) return { terminatingMs: terminatingSince === undefined ? 0 : now - terminatingSince, gracePeriodSeconds };
      if (pod.metadata?.deletionTimestamp && terminatingSince === undefined) terminatingSince = now;
      if (now > deadline) throw new Error(`pod ${namespace}/${name} still there after ${timeoutMs / 1000} s (${terminatingSince ? 'terminating' : 'not deleted'})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
}

/** The containers' logs. */
export function logsOf(namespace: string, pod: string, container: string): string {
  return kubectl(['logs', '-n', namespace, pod, '-c', container]).stdout;
}
