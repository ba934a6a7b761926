// The dev-pod finder of the tunnels: the newest ready pod with the workload's label.

import type { ClusterApi } from '../kube/api.ts';
import type { PodFinder } from '../kube/port-forward.ts';

/** What the finder reads of a pod (as the API server sends it). */
export interface PodLike {
  metadata?: { name?: string; creationTimestamp?: string; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
}

/** True when the pod runs and is Ready and is not being deleted. */
export function isUsablePod(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The newest usable pod among `pods`. */
export function pickDevPod<P extends PodLike>(pods: readonly P[]): P | undefined {
  const usable = pods.filter(isUsablePod);
  usable.sort((a, b) => String(b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).toISOString() : '')
    .localeCompare(String(a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).toISOString() : '')));
  return usable[0];
}

/** Finds the dev pod by `labelSelector` in `namespace` with a list call. */
export class LabelPodFinder implements PodFinder {
  lastProblem: string | undefined;
  private readonly cluster: Pick<ClusterApi, 'list'>;
  private readonly namespace: string;
  private readonly labelSelector: string;

  constructor(cluster: Pick<ClusterApi, 'list'>, namespace: string, labelSelector: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.labelSelector = labelSelector;
  }

  async find(): Promise<{ name: string } | undefined> {
    try {
      const pods = await this.cluster.list('v1', 'Pod', this.namespace, { label: this.labelSelector }) as PodLike[];
      const pod = pickDevPod(pods);
      if (!pod) {
        const states = pods.map((p) => `${p.metadata?.name} (${p.metadata?.deletionTimestamp ? 'terminating' : p.status?.phase ?? 'unknown'})`);
        this.lastProblem = states.length === 0
          ? `no pod with label ${this.labelSelector} in namespace ${this.namespace}`
          : `no ready dev pod with label ${this.labelSelector}: ${states.join(', ')}`;
        return undefined;
      }
      this.lastProblem = undefined;
      return { name: pod.metadata!.name! };
    } catch (error) {
      this.lastProblem = (error as Error).message;
      return undefined;
    }
  }
}
