// HorizontalPodAutoscalers would scale a dev workload back up: clamp them to one replica
// while in dev mode and give them back their bounds on end (as plan steps, from HPAs read first).

import jsonPatch from 'fast-json-patch';
import type { WorkloadRef } from '../core/kinds.ts';
import { CLAMPED_FOR_LABEL, HPA_ORIGINAL_ANNOTATION } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { clampedSelector, refOfObject } from './objects.ts';
import type { PatchStep } from './plan.ts';

interface HpaSpec {
  minReplicas?: number;
  maxReplicas?: number;
  scaleTargetRef?: { kind?: string; name?: string; apiVersion?: string };
}

const HPA_API = 'autoscaling/v2';

/** Every HPA of the namespace (the ones that target the workload are picked by clampSteps). */
export function listHpas(api: Pick<ClusterApi, 'list'>, namespace: string): Promise<KubeObject[]> {
  return api.list(HPA_API, 'HorizontalPodAutoscaler', namespace);
}

/** The HPAs start clamped for this workload. */
export function listClampedHpas(api: Pick<ClusterApi, 'list'>, namespace: string, workloadLabel: string): Promise<KubeObject[]> {
  return api.list(HPA_API, 'HorizontalPodAutoscaler', namespace, { label: clampedSelector(workloadLabel) });
}

/** One patch per HPA that targets the workload and is not clamped yet: bounds 1..1, the old ones saved in an annotation. */
export function clampSteps(hpas: readonly KubeObject[], ref: WorkloadRef & { namespace: string }, workloadLabel: string): PatchStep[] {
  const steps: PatchStep[] = [];
  for (const hpa of hpas) {
    const spec = (hpa.spec ?? {}) as HpaSpec;
    if (spec.scaleTargetRef?.kind !== ref.kind.kind || spec.scaleTargetRef.name !== ref.name) continue;
    if (hpa.metadata?.labels?.[CLAMPED_FOR_LABEL] === workloadLabel) continue;
    const saved: Record<string, number> = { maxReplicas: spec.maxReplicas ?? 1 };
    if (spec.minReplicas !== undefined) saved.minReplicas = spec.minReplicas;
    const clamped: KubeObject = structuredClone(hpa);
    clamped.metadata = {
      ...clamped.metadata,
      labels: { ...(clamped.metadata?.labels ?? {}), [CLAMPED_FOR_LABEL]: workloadLabel },
      annotations: { ...(clamped.metadata?.annotations ?? {}), [HPA_ORIGINAL_ANNOTATION]: JSON.stringify(saved) },
    };
    clamped.spec = { ...spec, minReplicas: 1, maxReplicas: 1 };
    steps.push({
      type: 'patch', label: `clamp HorizontalPodAutoscaler ${hpa.metadata?.name}`, ref: refOfObject(hpa, ref.namespace),
      operations: jsonPatch.compare(hpa, clamped), precondition: { resourceVersion: hpa.metadata?.resourceVersion }, from: hpa,
      noteAfter: `HorizontalPodAutoscaler ${hpa.metadata?.name} held at 1 replica while in dev mode`,
    });
  }
  return steps;
}

/** One patch per clamped HPA: its saved bounds back (only the marks removed when they cannot be read). */
export function restoreSteps(clamped: readonly KubeObject[], namespace: string): PatchStep[] {
  return clamped.map((hpa) => {
    let saved: { minReplicas?: number; maxReplicas?: number } = {};
    try {
      saved = JSON.parse(hpa.metadata?.annotations?.[HPA_ORIGINAL_ANNOTATION] ?? '{}');
    } catch {
      /* unreadable: only the marks are removed */
    }
    const original: KubeObject = structuredClone(hpa);
    const labels = { ...(original.metadata?.labels ?? {}) };
    delete labels[CLAMPED_FOR_LABEL];
    const annotations = { ...(original.metadata?.annotations ?? {}) };
    delete annotations[HPA_ORIGINAL_ANNOTATION];
    original.metadata = { ...original.metadata, labels, annotations };
    const spec = { ...(original.spec as HpaSpec) };
    if (saved.maxReplicas !== undefined) spec.maxReplicas = saved.maxReplicas;
    if (saved.minReplicas !== undefined) spec.minReplicas = saved.minReplicas;
    else delete spec.minReplicas;
    original.spec = spec;
    return {
      type: 'patch', label: `restore HorizontalPodAutoscaler ${hpa.metadata?.name}`, ref: refOfObject(hpa, namespace),
      operations: jsonPatch.compare(hpa, original), from: hpa, reportAs: `HorizontalPodAutoscaler/${hpa.metadata?.name}`,
    } satisfies PatchStep;
  });
}
