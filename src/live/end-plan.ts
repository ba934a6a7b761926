// The plan of `kubectl dev end`, pure: from the workload and what dev mode left (read by
// end.ts), restore the workload by patch (same UID, exact labels, annotations and spec; a
// Pod by delete and create), then remove everything start added. Leftovers are found by
// label, so that the plan is the same after any interruption of start or end.

import { compare } from 'fast-json-patch';
import { controllerOwnedLabel } from '../core/drift.ts';
import { isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import { workloadKindOf, type WorkloadRef } from '../core/kinds.ts';
import { ORIGINAL_ANNOTATION, ORIGINAL_CONFIGMAP_KEY } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { restorableState } from '../core/original.ts';
import { controllerOf } from './dev-pod.ts';
import { restoreSteps } from './hpa.ts';
import { displayRef, forCreate, keptOnRestore, refOfObject, workloadObjectRef } from './objects.ts';
import { onDeleteRestart, type PlanStep } from './plan.ts';

export interface EndRequest {
  ref: WorkloadRef & { namespace: string };
  /** Restore even if the workload was changed while in dev mode. */
  force?: boolean;
  timeoutMs: number;
}

/** Everything end reads before it plans. */
export interface EndState {
  /** The workload (for a Pod: the dev pod, or the original when start did not replace it yet). */
  current?: KubeObject;
  /** In dev mode: its original, from its annotation or ConfigMap. */
  original?: KubeObject;
  /** What changed while in dev mode, when something did. */
  drift?: string;
  /** A Pod's saved original (its ConfigMap). */
  podState?: KubeObject;
  /** Pod 0 of a StatefulSet. */
  firstPod?: KubeObject;
  /** Objects with dev mode's generated label (Secret, ConfigMaps, generated workloads). */
  leftovers: readonly KubeObject[];
  /** Pods with the workload's dev pod label (metadata only). */
  devPods: readonly KubeObject[];
  /** HorizontalPodAutoscalers start clamped. */
  clampedHpas: readonly KubeObject[];
}

export interface EndPlan {
  steps: PlanStep[];
  wasInDevMode: boolean;
  /** The step whose result is the restored workload. */
  restoreStep?: number;
  /** Thrown when the plan ran and removed nothing: there was nothing to end. */
  missing?: DevError;
}

/** Labels the Job controller puts on a Job's pod template, with the selector it generates. */
const JOB_CONTROLLER_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];

/**
 * A Job's spec with what the API server generated when the Job was created and will not take
 * away afterwards: its selector and the template's controller labels (both immutable). A
 * Job that `render` put in dev mode saved its manifest's spec, which has neither.
 */
export function withJobServerFields(spec: unknown, current: KubeObject): unknown {
  const now = current.spec as { selector?: unknown; manualSelector?: unknown; template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  if (!workloadKindOf(current)?.serverGeneratedSelector || !now || spec === null || typeof spec !== 'object') return spec;
  const out = structuredClone(spec) as { selector?: unknown; template?: { metadata?: { labels?: Record<string, string> } } };
  if (out.selector === undefined && now.selector !== undefined) out.selector = structuredClone(now.selector);
  const generated = Object.entries(now.template?.metadata?.labels ?? {}).filter(([k]) => JOB_CONTROLLER_LABELS.includes(k));
  if (generated.length > 0) {
    out.template ??= {};
    out.template.metadata ??= {};
    const labels = out.template.metadata.labels ?? {};
    for (const [k, v] of generated) labels[k] ??= v;
    out.template.metadata.labels = labels;
  }
  return out;
}

/** `current` with the restored labels, annotations and spec (absent ones absent). */
function restoredOnto(current: KubeObject, restored: KubeObject): KubeObject {
  const metadata: Record<string, unknown> = { ...current.metadata };
  delete metadata.labels;
  delete metadata.annotations;
  if (restored.metadata?.labels !== undefined) metadata.labels = restored.metadata.labels;
  if (restored.metadata?.annotations !== undefined) metadata.annotations = restored.metadata.annotations;
  const target: KubeObject = { ...current, metadata };
  if (restored.spec === undefined) delete target.spec;
  else target.spec = restored.spec;
  return target;
}

/**
 * The original as it goes back: controller-kept annotations and labels keep their current
 * values (the controller, Helm, would rewrite them anyway); a Job keeps the selector and
 * template labels the API server made for it.
 */
function restoredFrom(original: KubeObject, current: KubeObject): KubeObject {
  const restored = structuredClone(original);
  restored.spec = withJobServerFields(restored.spec, current) as KubeObject['spec'];
  for (const [key, value] of Object.entries(current.metadata?.annotations ?? {})) {
    if (keptOnRestore(key)) restored.metadata = { ...restored.metadata, annotations: { ...(restored.metadata?.annotations ?? {}), [key]: value } };
  }
  for (const [key, value] of Object.entries(current.metadata?.labels ?? {})) {
    if (controllerOwnedLabel(key, value)) restored.metadata = { ...restored.metadata, labels: { ...(restored.metadata?.labels ?? {}), [key]: value } };
  }
  return restored;
}

/**
 * Deletes of what start added, found by label; dev pods without a controller (left by a
 * generated object deleted without propagation, `kubectl delete --cascade=orphan`); and the
 * HPAs' bounds back. Pods with a controller go with it (the generated objects are deleted in
 * the background; a workload's own pods are replaced by its controller once restored).
 */
function leftoverSteps(state: EndState, request: EndRequest): PlanStep[] {
  const { ref } = request;
  const steps: PlanStep[] = state.leftovers.map((obj) => ({
    type: 'delete', label: `delete ${obj.kind} ${obj.metadata?.name}`, ref: refOfObject(obj, ref.namespace),
    options: { propagationPolicy: 'Background' }, reportAs: `${obj.kind}/${obj.metadata?.name}`,
  }));
  for (const pod of state.devPods) {
    const name = String(pod.metadata?.name);
    if (controllerOf(pod) || pod.metadata?.deletionTimestamp || (ref.kind.strategy === 'recreate' && name === ref.name)) continue;
    steps.push({
      type: 'delete', label: `delete the orphaned dev pod ${name}`, ref: { apiVersion: 'v1', kind: 'Pod', name, namespace: ref.namespace },
      options: { uid: String(pod.metadata?.uid) }, reportAs: `Pod/${name}`,
      tolerate: { codes: ['FORBIDDEN', 'CONFLICT'], note: `the orphaned dev pod ${name} is left` },
    });
  }
  steps.push(...restoreSteps(state.clampedHpas, ref.namespace));
  return steps;
}

function notFound(request: EndRequest): DevError {
  const { ref } = request;
  return new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
}

/** A Pod comes back by delete and create, from its annotation or, after an interrupted start, from the state ConfigMap. */
function planEndPod(state: EndState, request: EndRequest): EndPlan {
  const { ref } = request;
  const wref = workloadObjectRef(ref);
  const pod = state.current;
  const saved = (state.podState?.data as Record<string, string> | undefined)?.[ORIGINAL_CONFIGMAP_KEY];
  const steps: PlanStep[] = [];
  let original: KubeObject | undefined;
  if (pod && isInDevMode(pod)) {
    original = saved !== undefined ? (JSON.parse(saved) as KubeObject) : forCreate(exitWorkload(pod));
    const uid = String(pod.metadata?.uid);
    steps.push(
      { type: 'delete', label: 'delete the dev Pod', ref: wref, options: { uid }, phase: { start: `restoring pod/${ref.name}`, done: `pod/${ref.name} restored` } },
      { type: 'wait-gone', label: 'wait until the dev Pod is gone', ref: wref, uid, timeoutMs: request.timeoutMs },
    );
  } else if (!pod && saved !== undefined) {
    original = JSON.parse(saved) as KubeObject;
  }
  if (!original) return { steps: leftoverSteps(state, request), wasInDevMode: false, ...(pod ? {} : { missing: notFound(request) }) };
  delete original.metadata?.annotations?.[ORIGINAL_ANNOTATION];
  steps.push({ type: 'create', label: 'create the original Pod', object: forCreate(original), ...(pod ? {} : { phase: { start: `recreating pod/${ref.name} from its saved original`, done: `pod/${ref.name} restored` } }) });
  const restoreStep = steps.length - 1;
  return { steps: [...steps, ...withPhase(leftoverSteps(state, request))], wasInDevMode: true, restoreStep };
}

function withPhase(steps: PlanStep[]): PlanStep[] {
  if (steps[0]) steps[0].phase = { start: 'removing what dev mode added' };
  return steps;
}

export function planEnd(state: EndState, request: EndRequest): EndPlan {
  const { ref } = request;
  if (ref.kind.strategy === 'recreate') return planEndPod(state, request);
  const { current, original } = state;
  if (!current || !isInDevMode(current) || !original) {
    return { steps: leftoverSteps(state, request), wasInDevMode: false, ...(current ? {} : { missing: notFound(request) }) };
  }
  if (state.drift && !request.force) {
    throw new DevError('DRIFT', `${displayRef(ref)} was changed while in dev mode: ${state.drift}`,
      `ending dev mode restores the original and loses those changes: run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} --force to do it anyway, then re-apply them (helm upgrade, kubectl apply).`);
  }
  const restored = restoredFrom(original, current);
  const steps: PlanStep[] = [{
    type: 'patch', label: 'restore the workload', ref: workloadObjectRef(ref), operations: compare(current, restoredOnto(current, restored)), from: current,
    phase: { start: `restoring ${displayRef(ref)}`, done: `${displayRef(ref)} restored` },
    precondition: {
      resourceVersion: current.metadata?.resourceVersion,
      retry: {
        state: JSON.stringify(restorableState(current)), attempts: 5,
        conflict: { message: `${displayRef(ref)} changed while kubectl-dev was restoring it; nothing was restored`, hint: `run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} again.` },
      },
    },
  }];
  if (ref.kind.onDeleteUpdates) steps.push(...onDeleteRestart(restored, state.firstPod, ref.namespace, false));
  return { steps: [...steps, ...withPhase(leftoverSteps(state, request))], wasInDevMode: true, restoreStep: 0 };
}
