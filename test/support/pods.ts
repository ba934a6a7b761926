// What e2e tests do inside real containers of the test cluster's real node, through the
// real kubectl (exec goes API server → kubelet → containerd, as on any cluster).
import { spawn, spawnSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { SIDECAR_CONTAINER } from '../../src/core/marks.ts';
import { SYNCTHING_API_PORT, SYNCTHING_HOME } from '../../src/core/settings.ts';
import { kubectlBinary } from './binaries.ts';
import { testKubeconfigPath, waitFor } from './cluster.ts';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl exec -n NS POD -c CONTAINER -- CMD…` (stdin given only when `input` is). */
export function execIn(namespace: string, pod: string, container: string, command: string[], input?: string): ExecResult {
  const args = ['--kubeconfig', testKubeconfigPath(), 'exec', ...(input !== undefined ? ['-i'] : []), '-n', namespace, pod, '-c', container, '--', ...command];
  const r = spawnSync(kubectlBinary(), args, { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
}

/** The content of `file` in the container, or undefined when it cannot be read. */
export function readFileIn(namespace: string, pod: string, container: string, file: string): string | undefined {
  const r = execIn(namespace, pod, container, ['cat', file]);
  return r.code === 0 ? r.stdout : undefined;
}

/** Waits until `file` in the container holds exactly `content`. */
export function arrivedInContainer(namespace: string, pod: string, container: string, file: string, content: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(`${file} in ${pod}/${container}`, () => readFileIn(namespace, pod, container, file) === content, timeoutMs, 200);
}

/** What execInAsync gives back: also stdout as bytes (a tar stream, say). */
export interface ExecOutput extends ExecResult {
  raw: Buffer;
}

/**
 * execIn without blocking the event loop: for tests that run a sync session (port-forwards,
 * REST clients) in their own process, which a spawnSync would freeze meanwhile. stdin is
 * given (and then closed) only when `input` is: `kubectl exec -i` returns only once its stdin
 * closes.
 */
export function execInAsync(namespace: string, pod: string, container: string, command: string[], input?: string | Buffer, timeoutMs = 60_000): Promise<ExecOutput> {
  const args = ['--kubeconfig', testKubeconfigPath(), 'exec', ...(input !== undefined ? ['-i'] : []), '-n', namespace, pod, '-c', container, '--', ...command];
  return new Promise((resolve) => {
    const child = spawn(kubectlBinary(), args, { stdio: [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => (stderr += e.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: raw.toString('utf8'), stderr, raw });
    });
  });
}

/** The content of `file` in the container (undefined when it cannot be read), without blocking the event loop. */
export async function readFileInAsync(namespace: string, pod: string, container: string, file: string): Promise<string | undefined> {
  const r = await execInAsync(namespace, pod, container, ['cat', file]);
  return r.code === 0 ? r.stdout : undefined;
}

/** Waits (without blocking the event loop) until `file` in the container holds exactly `content`. */
export function arrivedInContainerAsync(namespace: string, pod: string, container: string, file: string, content: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(`${file} in ${pod}/${container}`, async () => (await readFileInAsync(namespace, pod, container, file)) === content, timeoutMs, 200);
}

/** Whether `file` exists in the container (false also when the exec fails). */
export async function existsIn(namespace: string, pod: string, container: string, file: string): Promise<boolean> {
  return (await execInAsync(namespace, pod, container, ['test', '-e', file])).code === 0;
}

/** The entries of a tar stream (ustar, with GNU long names): regular files with their content, and directories. */
export function untar(stream: Buffer): Array<{ path: string; type: 'file' | 'dir' | 'other'; content: Buffer; mode: number; uid: number }> {
  const entries: Array<{ path: string; type: 'file' | 'dir' | 'other'; content: Buffer; mode: number; uid: number }> = [];
  const field = (h: Buffer, at: number, len: number) => h.subarray(at, at + len).toString('utf8').replace(/\0.*$/s, '');
  const octal = (h: Buffer, at: number, len: number) => parseInt(field(h, at, len).trim() || '0', 8);
  let longName: string | undefined;
  for (let at = 0; at + 512 <= stream.length;) {
    const h = stream.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const size = octal(h, 124, 12);
    const flag = String.fromCharCode(h[156]!);
    const content = stream.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'L') {
      longName = content.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    const prefix = field(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    const type = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'dir' : 'other';
    entries.push({ path: name.replace(/^\.\//, '').replace(/\/$/, ''), type, content: Buffer.from(content), mode: octal(h, 100, 8) & 0o7777, uid: octal(h, 108, 8) });
  }
  return entries;
}

/**
 * The regular files under `dir` in the container and their contents (as treeOf gives a local
 * tree): a tar stream of the directory made by the container's own tar. Paths with a component
 * in `skip` (syncthing's own .stfolder, say) are left out.
 */
export async function treeIn(namespace: string, pod: string, container: string, dir: string, skip: readonly string[] = []): Promise<Record<string, string>> {
  const r = await execInAsync(namespace, pod, container, ['tar', '-cf', '-', '-C', dir, '.']);
  if (r.code !== 0) throw new Error(`tar of ${dir} in ${pod}/${container} failed (${r.code}): ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const entry of untar(r.raw)) {
    if (entry.type !== 'file' || entry.path.split('/').some((part) => skip.includes(part))) continue;
    out[entry.path] = entry.content.toString('utf8');
  }
  return out;
}

/**
 * A GET of the sync sidecar's REST API from inside its container (busybox wget to
 * 127.0.0.1:8384 with the API key of the config the sidecar runs with): what the sidecar
 * itself says, independent of any session's port-forward.
 */
export async function sidecarGet<T = any>(namespace: string, pod: string, restPath: string): Promise<T> {
  const script = `key=$(sed -n 's:.*<apikey>\\(.*\\)</apikey>.*:\\1:p' ${SYNCTHING_HOME}/config.xml) && wget -q -O - --header "X-API-Key: $key" "http://127.0.0.1:${SYNCTHING_API_PORT}$1"`;
  // A Ready pod's sidecar may still be starting syncthing: a refused connection is waited out (30 s), nothing else.
  const deadline = Date.now() + 30_000;
  let r = await execInAsync(namespace, pod, SIDECAR_CONTAINER, ['sh', '-c', script, 'sh', restPath]);
  while (r.code !== 0 && /can't connect to remote host.*Connection refused/.test(r.stderr) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    r = await execInAsync(namespace, pod, SIDECAR_CONTAINER, ['sh', '-c', script, 'sh', restPath]);
  }
  if (r.code !== 0) throw new Error(`GET ${restPath} in ${pod}'s sidecar failed (${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}


/** The newest Running, Ready, not terminating pod with `labelSelector` (other than `not`). */
export function readyPod(kc: k8s.KubeConfig, namespace: string, labelSelector: string, not: readonly string[] = [], timeoutMs = 120_000): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return waitFor(`a ready pod ${labelSelector} in ${namespace}${not.length ? ` other than ${not.join(', ')}` : ''}`, async () => {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items
      .filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && !not.includes(p.metadata?.name ?? '') &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
    return pods[0]?.metadata?.name;
  }, timeoutMs, 250);
}

/** Deletes a pod and waits until it is gone (its containers stopped). */
export async function deletePodAndWait(kc: k8s.KubeConfig, namespace: string, name: string, timeoutMs = 120_000): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespacedPod({ name, namespace }).catch((e: { code?: number }) => {
    if (e.code !== 404) throw e;
  });
  await waitFor(`pod ${name} gone`, () => core.readNamespacedPod({ name, namespace }).then(() => false, (e: { code?: number }) => e.code === 404), timeoutMs, 250);
}

/** The pod's IP on the node's bridge (reachable from the host). */
export async function podIP(kc: k8s.KubeConfig, namespace: string, name: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return waitFor(`pod ${name}'s IP`, async () => (await core.readNamespacedPod({ name, namespace })).status?.podIP, 60_000, 250);
}
