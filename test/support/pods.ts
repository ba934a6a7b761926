// What e2e tests do inside real containers of the test cluster's real node, through the
// real kubectl (exec goes API server → kubelet → containerd, as on any cluster).
import { spawnSync } from 'node:child_process';
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
