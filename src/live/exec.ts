// `kubectl dev exec`: a command in the dev container of the dev pod, through the API server
// (client-node Exec over WebSocket), with the command's exit code passed through.

import type { Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { DevError } from '../core/errors.ts';
import { devModeNames, isInDevMode, recordedSettings } from '../core/enter.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import { WORKLOAD_LABEL } from '../core/marks.ts';
import type { ClusterApi } from '../kube/api.ts';
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

/** The exit code in the status the API server sends at the end of an exec. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message !== undefined ? Number(cause.message) : 1;
}

export async function devPodFor(ref: WorkloadRef & { namespace: string }, api: ClusterApi): Promise<{ pod: string; container: string }> {
  const workload = await api.get(workloadObjectRef(ref));
  if (!workload) throw new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
  if (!isInDevMode(workload)) throw new DevError('NOT_FOUND', `${displayRef(ref)} is not in dev mode`, `start it first: kubectl dev start ${displayRef(ref)} -n ${ref.namespace}`);
  const container = recordedSettings(workload)?.devContainer ?? '';
  const { workloadLabel } = devModeNames(ref.kind, ref.name);
  const pods = await api.list('v1', 'Pod', ref.namespace, { label: `${WORKLOAD_LABEL}=${workloadLabel}` });
  const ready = pods.filter((p) => podHealth(p, [container]).state === 'ready');
  const pod = ready.sort((a, b) => String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)))[0];
  if (!pod) throw new DevError('NOT_FOUND', `${displayRef(ref)} has no ready dev pod`, `kubectl dev status ${displayRef(ref)} -n ${ref.namespace} shows its state.`);
  return { pod: String(pod.metadata?.name), container };
}

export async function execInDevPod(request: ExecRequest, kc: KubeConfig, api: ClusterApi): Promise<number> {
  const target = await devPodFor(request.ref, api);
  const container = request.container ?? target.container;
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (code: number) => {
      if (!settled) {
        settled = true;
        resolve(code);
      }
    };
    new Exec(kc)
      .exec(request.ref.namespace, target.pod, container, request.command, request.stdout, request.stderr, request.stdin, request.tty, (status) => finish(exitCodeOf(status)))
      .then((socket) => {
        socket.on('close', () => finish(0));
        socket.on('error', (error: Error) => {
          if (!settled) reject(new DevError('API_ERROR', `exec in ${target.pod}: ${error.message}`, 'check the pod with kubectl dev status.'));
        });
      })
      .catch((error: Error) => reject(new DevError('API_ERROR', `exec in ${target.pod}/${container}: ${error.message}`, 'check that you may create pods/exec (kubectl auth can-i create pods/exec) and that the pod runs.')));
  });
}
