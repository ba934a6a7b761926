// HorizontalPodAutoscalers would scale a dev workload back up: clamp them to one replica
// while in dev mode and give them back their bounds on end.

import { compare } from 'fast-json-patch';
import type { WorkloadRef } from '../core/kinds.ts';
import { CLAMPED_FOR_LABEL, HPA_ORIGINAL_ANNOTATION } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { LiveDeps } from './deps.ts';
import { clampedSelector, refOfObject } from './objects.ts';

interface HpaSpec {
  minReplicas?: number;
  maxReplicas?: number;
  scaleTargetRef?: { kind?: string; name?: string; apiVersion?: string };
}

const HPA_API = 'autoscaling/v2';

export async function clampHpas(ref: WorkloadRef & { namespace: string }, workloadLabel: string, deps: LiveDeps): Promise<void> {
  const hpas = await deps.api.list(HPA_API, 'HorizontalPodAutoscaler', ref.namespace);
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
    deps.checkpoint(`clamp HorizontalPodAutoscaler ${hpa.metadata?.name}`);
    await deps.api.patch(refOfObject(hpa, ref.namespace), [{ op: 'replace', path: '/metadata/resourceVersion', value: hpa.metadata?.resourceVersion }, ...compare(hpa, clamped)]);
    deps.progress.note(`HorizontalPodAutoscaler ${hpa.metadata?.name} held at 1 replica while in dev mode`);
  }
}

export async function restoreHpas(namespace: string, workloadLabel: string, deps: LiveDeps): Promise<string[]> {
  const restored: string[] = [];
  for (const hpa of await deps.api.list(HPA_API, 'HorizontalPodAutoscaler', namespace, { label: clampedSelector(workloadLabel) })) {
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
    deps.checkpoint(`restore HorizontalPodAutoscaler ${hpa.metadata?.name}`);
    await deps.api.patch(refOfObject(hpa, namespace), compare(hpa, original));
    restored.push(`HorizontalPodAutoscaler/${hpa.metadata?.name}`);
  }
  return restored;
}
