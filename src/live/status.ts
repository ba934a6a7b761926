// `kubectl dev status`: workloads in dev mode, found by label (one filtered LIST per kind, in
// parallel, plus one LIST of dev pods), so the cost follows the number in dev mode, not the cluster.

import { recordedSettings } from '../core/enter.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../core/kinds.ts';
import { DEV_MODE_LABEL, SINCE_ANNOTATION, WORKLOAD_LABEL } from '../core/marks.ts';
import { workloadLabelValue } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { apiVersionOf } from './objects.ts';
import { podHealth } from './pod-health.ts';

export interface StatusRow {
  kind: string;
  name: string;
  namespace: string;
  container: string;
  devPod: string;
  phase: string;
  since: string;
  sync: string;
}

export interface StatusRequest {
  /** undefined: all namespaces. */
  namespace: string | undefined;
  /** Only this workload. */
  only?: { kind: WorkloadKind; name: string };
  /** Sync state of a workload, from the sync module (local state); "-" when unknown. */
  syncState?: (row: Omit<StatusRow, 'sync'>) => Promise<string>;
}

function podPhase(pod: KubeObject | undefined, container: string): string {
  if (!pod) return 'NoPod';
  const health = podHealth(pod, [container]);
  if (health.state === 'ready') return 'Ready';
  if (health.state === 'failed') return `Failed: ${health.reason}`;
  return String((pod.status as { phase?: string } | undefined)?.phase ?? 'Pending');
}

export async function devModeStatus(request: StatusRequest, api: ClusterApi): Promise<StatusRow[]> {
  const kinds = request.only ? [request.only.kind] : WORKLOAD_KINDS;
  const [pods, ...perKind] = await Promise.all([
    api.list('v1', 'Pod', request.namespace, { label: request.only ? `${WORKLOAD_LABEL}=${workloadLabelValue(request.only.kind.kind, request.only.name)}` : WORKLOAD_LABEL }),
    ...kinds.map((kind) => api.list(apiVersionOf(kind), kind.kind, request.namespace, { label: `${DEV_MODE_LABEL}=true` })
      .then((items) => items.map((item) => ({ item, kind })))),
  ]);
  const rows: StatusRow[] = [];
  for (const { item, kind } of perKind.flat()) {
    const name = String(item.metadata?.name);
    if (request.only && name !== request.only.name) continue;
    const namespace = String(item.metadata?.namespace ?? request.namespace ?? '');
    const label = workloadLabelValue(kind.kind, name);
    const devPods = pods.filter((p) => p.metadata?.namespace === namespace && p.metadata?.labels?.[WORKLOAD_LABEL] === label && !p.metadata?.deletionTimestamp);
    const devPod = devPods.sort((a, b) => String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)))[0];
    const container = recordedSettings(item)?.devContainer ?? '?';
    const row = {
      kind: kind.kind, name, namespace, container,
      devPod: devPod ? String(devPod.metadata?.name) : '-',
      phase: podPhase(devPod, container),
      since: item.metadata?.annotations?.[SINCE_ANNOTATION] ?? '-',
    };
    rows.push({ ...row, sync: request.syncState ? await request.syncState(row) : '-' });
  }
  return rows.sort((a, b) => `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`));
}
