// `kubectl dev exec`: a command in the dev container of the dev pod, through the API server
// (client-node Exec over WebSocket), with the command's exit code passed through. A
// connection that ends without the exit status fails (the pod deleted, its container
// restarted, or the connection cut), never exit 0.

import type { Readable, Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { DevError } from '../core/errors.ts';
import { isInDevMode, recordedSettings } from '../core/enter.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { clientNodeExec, exitCodeOf, type ExecFn } from '../kube/exec.ts';
import { devPodCreatorRef, devPodMatcher, devPodSelector } from './dev-pod.ts';
import { displayRef, workloadObjectRef } from './objects.ts';
import { podHealth } from './pod-health.ts';

export interface ExecRequest {
  ref: WorkloadRef & { namespace: string };
  container?: string;
  command: string[];
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  tty: boolean;
}

export async function devPodFor(ref: WorkloadRef & { namespace: string }, api: ClusterApi): Promise<{ pod: string; container: string; object: KubeObject }> {
  const workload = await api.get(workloadObjectRef(ref));
  if (!workload) throw new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
  if (!isInDevMode(workload)) throw new DevError('NOT_FOUND', `${displayRef(ref)} is not in dev mode`, `start it first: kubectl dev start ${displayRef(ref)} -n ${ref.namespace}`);
  const container = recordedSettings(workload)?.devContainer ?? '';
  const creatorRef = devPodCreatorRef(ref, workload);
  const [pods, creator] = await Promise.all([
    api.list('v1', 'Pod', ref.namespace, { label: devPodSelector(ref) }),
    creatorRef.kind === workload.kind && creatorRef.name === workload.metadata?.name ? workload : api.get(creatorRef),
  ]);
  // Only the dev pod of dev mode as it is now: not a leftover with the same label.
  const matcher = creator ? devPodMatcher(creator, ref.namespace, api) : undefined;
  const ready = pods.filter((p) => podHealth(p, [container]).state === 'ready');
  const verdicts = await Promise.all(ready.map((p) => (matcher ? matcher.accepts(p) : true)));
  const pod = ready.filter((_, i) => verdicts[i]).sort((a, b) => String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)))[0];
  if (!pod) throw new DevError('NOT_FOUND', `${displayRef(ref)} has no ready dev pod`, `kubectl dev status ${displayRef(ref)} -n ${ref.namespace} shows its state.`);
  return { pod: String(pod.metadata?.name), container, object: pod };
}

/** Restarts of a container so far, from the pod's status. */
function restartsOf(pod: KubeObject | undefined, container: string): number | undefined {
  const statuses = ((pod?.status as { containerStatuses?: { name?: string; restartCount?: number }[] } | undefined)?.containerStatuses ?? []);
  return statuses.find((c) => c.name === container)?.restartCount;
}

/**
 * Why an exec ended without an exit status, from the pod as it is now: it was deleted or
 * replaced, its container restarted, or (the pod as before) the connection itself dropped.
 */
export async function lostExecError(namespace: string, before: KubeObject, container: string, api: ClusterApi, cause?: string): Promise<DevError> {
  const name = String(before.metadata?.name);
  const what = `the connection to the command in ${name}/${container} ended before its exit status came${cause ? ` (${cause})` : ''}`;
  let now: KubeObject | undefined;
  try {
    now = await api.get({ apiVersion: 'v1', kind: 'Pod', name, namespace });
  } catch (error) {
    const reason = error instanceof DevError ? error.message : String(error);
    return new DevError('UNREACHABLE', `${what}; the API server cannot be asked about the pod now (${reason})`,
      'the command may or may not have finished: check the cluster connection, then kubectl dev status; run the command again.');
  }
  if (!now || now.metadata?.uid !== before.metadata?.uid || now.metadata?.deletionTimestamp) {
    return new DevError('POD_FAILED', `${what}: the dev pod ${name} was deleted${now && now.metadata?.uid === before.metadata?.uid ? ' (it is terminating)' : ''}`,
      'the command did not finish: wait for the new dev pod (kubectl dev status), then run the command again.');
  }
  const restarts = restartsOf(now, container);
  if (restarts !== undefined && restarts !== restartsOf(before, container)) {
    return new DevError('POD_FAILED', `${what}: container ${container} of the dev pod restarted`,
      `the command did not finish: kubectl logs ${name} -c ${container} --previous -n ${namespace} may show why; run the command again.`);
  }
  return new DevError('UNREACHABLE', `${what}; the dev pod ${name} still runs`,
    'the command may still run or may have been stopped: check the connection to the API server (a proxy or load balancer idle timeout can cut it) and run the command again.');
}

export async function execInDevPod(request: ExecRequest, kc: KubeConfig, api: ClusterApi, exec: ExecFn = clientNodeExec(kc)): Promise<number> {
  const target = await devPodFor(request.ref, api);
  const container = request.container ?? target.container;
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (!settled) {
        settled = true;
        outcome();
      }
    };
    // Without an exit status (the status channel) the command's outcome is unknown: never 0.
    const lost = (cause?: string) => {
      if (settled) return;
      void lostExecError(request.ref.namespace, target.object, container, api, cause).then((error) => settle(() => reject(error)));
    };
    exec({
      namespace: request.ref.namespace, pod: target.pod, container, command: request.command,
      stdout: request.stdout, stderr: request.stderr, stdin: request.stdin, tty: request.tty,
      onStatus: (status) => settle(() => resolve(exitCodeOf(status))),
    })
      .then((socket) => {
        let error: string | undefined;
        socket.on('error', (e: Error) => (error = e.message));
        socket.on('close', (code: number, reason: Buffer) => lost(error ?? (code !== 1000 && code !== 1005 ? `WebSocket closed with code ${code}${reason?.length ? `: ${reason.toString()}` : ''}` : undefined)));
      })
      .catch((error: Error) => {
        // The API server answered the upgrade with an error (ws: "Unexpected server response: 403"): nothing ran.
        if (/Unexpected server response/.test(String(error?.message))) {
          settle(() => reject(new DevError('API_ERROR', `exec in ${target.pod}/${container}: ${error.message}`, 'check that you may create pods/exec (kubectl auth can-i create pods/exec) and that the pod runs.')));
        } else {
          // The connection broke while it opened: the command may have started.
          lost(String(error?.message ?? error));
        }
      });
  });
}
