// The dev-pod finder of the tunnels: the newest ready pod with the workload's label.

import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { describeKubeError, type PodFinder } from '../kube/port-forward.ts';

/** True when the pod runs and is Ready and is not being deleted. */
export function isUsablePod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The newest usable pod among `pods`. */
export function pickDevPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const usable = pods.filter(isUsablePod);
  usable.sort((a, b) => String(b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).toISOString() : '')
    .localeCompare(String(a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).toISOString() : '')));
  return usable[0];
}

/** Finds the dev pod by `labelSelector` in `namespace` with a list call (client-node CoreV1Api). */
export class LabelPodFinder implements PodFinder {
  lastProblem: string | undefined;
  private readonly kc: KubeConfig;
  private readonly namespace: string;
  private readonly labelSelector: string;

  constructor(kc: KubeConfig, namespace: string, labelSelector: string) {
    this.kc = kc;
    this.namespace = namespace;
    this.labelSelector = labelSelector;
  }

  async find(): Promise<{ name: string } | undefined> {
    try {
      const list = await this.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector });
      const pod = pickDevPod(list.items);
      if (!pod) {
        const states = list.items.map((p) => `${p.metadata?.name} (${p.metadata?.deletionTimestamp ? 'terminating' : p.status?.phase ?? 'unknown'})`);
        this.lastProblem = states.length === 0
          ? `no pod with label ${this.labelSelector} in namespace ${this.namespace}`
          : `no ready dev pod with label ${this.labelSelector}: ${states.join(', ')}`;
        return undefined;
      }
      this.lastProblem = undefined;
      return { name: pod.metadata!.name! };
    } catch (error) {
      this.lastProblem = `listing pods: ${describeKubeError(error)}`;
      return undefined;
    }
  }
}
