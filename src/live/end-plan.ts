// The plan of `kubectl dev end`, pure: from the workload and what dev mode left (read by
// end.ts), restore the workload by patch (same UID, exact labels, annotations and spec; a
// Pod by delete and create), then remove everything start added. Leftovers are found by
// label, so that the plan is the same after any interruption of start or end.

import jsonPatch from 'fast-json-patch';
import { controllerOwnedLabel } from '../core/drift.ts';
import { duplicateOf, isDuplicate } from '../core/duplicate.ts';
import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import { workloadKindOf, type WorkloadRef } from '../core/kinds.ts';
import { ORIGINAL_ANNOTATION, ORIGINAL_CONFIGMAP_KEY } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { restorableState } from '../core/original.ts';
import type { DevModeCheck } from '../core/revert.ts';
import { devModeNames, isInDevMode } from '../core/enter.ts';
import { controllerOf } from './dev-pod.ts';
import { pausedSyncId, resumeStep } from './gitops.ts';
import { restoreSteps } from './hpa.ts';
import { displayRef, forCreate, keptOnRestore, refOfObject, workloadObjectRef } from './objects.ts';
import { onDeleteRestart, type PlanStep } from './plan.ts';

export interface EndRequest {
  ref: WorkloadRef & { namespace: string };
  /** Restore even if the workload was changed while in dev mode. */
  force?: boolean;
  /** `--delete-volumes`: delete the workload's persistent claim too (else it is kept for the next start). */
  deleteVolumes?: boolean;
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
  /** The workload's persistent claim (read with --delete-volumes). */
  claim?: KubeObject;
  /** Another field manager reverted dev mode: who and what (core/revert.ts), and the workload with what dev mode left removed. */
  reverted?: { check: Reverted; cleaned: KubeObject };
  /** The Argo CD Application whose automated sync start paused for this workload (--gitops=pause). */
  pausedApplication?: KubeObject;
  /** Who held the dev mode, when it was someone else than the user ending it (since: when it started). */
  heldByOther?: { user?: string; host?: string; since?: string };
}

export type Reverted = Extract<DevModeCheck, { state: 'reverted' }>;

export interface EndPlan {
  steps: PlanStep[];
  wasInDevMode: boolean;
  /** The step whose result is the restored workload. */
  restoreStep?: number;
  /** Thrown when the plan ran and removed nothing: there was nothing to end. */
  missing?: DevError;
  /** A dev copy (duplicate mode) is deleted, not restored: `Kind/name` of the original it copies. */
  duplicateOf?: string;
  /** Set when another field manager had reverted dev mode: its change was kept, not restored over. */
  reverted?: Reverted;
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
  if (request.deleteVolumes && state.claim && !state.claim.metadata?.deletionTimestamp) {
    // Last: the restored workload no longer mounts it; the claim goes once the dev pod has (pvc-protection).
    const name = String(state.claim.metadata?.name);
    steps.push({ type: 'delete', label: `delete PersistentVolumeClaim ${name}`, ref: refOfObject(state.claim, ref.namespace), options: { uid: String(state.claim.metadata?.uid) }, reportAs: `PersistentVolumeClaim/${name}` });
  }
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

/** A dev copy (duplicate mode) has no original to restore: it is deleted, with what start added for it. */
function planEndDuplicate(copy: KubeObject, state: EndState, request: EndRequest): EndPlan {
  const { ref } = request;
  const what = `${displayRef(ref)} (a dev copy of ${String(duplicateOf(copy)).toLowerCase()})`;
  const uid = String(copy.metadata?.uid);
  const steps: PlanStep[] = [
    {
      type: 'delete', label: 'delete the dev copy', ref: workloadObjectRef(ref), options: { uid, propagationPolicy: 'Background' },
      reportAs: `${ref.kind.kind}/${ref.name}`, phase: { start: `deleting ${what}`, done: `${what} deleted` },
    },
    // A Pod copy stays while it terminates (a controller copy goes at once): end returns once it is gone.
    { type: 'wait-gone', label: 'wait until the dev copy is gone', ref: workloadObjectRef(ref), uid, timeoutMs: request.timeoutMs },
  ];
  return { steps: [...steps, ...withPhase(leftoverSteps(state, request))], wasInDevMode: true, duplicateOf: String(duplicateOf(copy)) };
}

/** The precondition of a patch of the workload: its read version, retried over status-only changes. */
function workloadPrecondition(current: KubeObject, request: EndRequest, what: string) {
  const { ref } = request;
  return {
    resourceVersion: current.metadata?.resourceVersion,
    retry: {
      state: JSON.stringify(restorableState(current)), attempts: 5,
      conflict: { message: `${displayRef(ref)} changed while kubectl-dev was ${what}; nothing was changed`, hint: `run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} again.` },
    },
  };
}

/**
 * A workload another field manager reverted: its change stays; what dev mode left on the
 * workload (marks, edits still as dev mode made them) goes, then what start added.
 */
function planCleanup(current: KubeObject, reverted: NonNullable<EndState['reverted']>, state: EndState, request: EndRequest): EndPlan {
  const { ref } = request;
  const operations = jsonPatch.compare(current, reverted.cleaned);
  const steps: PlanStep[] = operations.length === 0 ? [] : [{
    type: 'patch', label: 'remove what dev mode left on the workload', ref: workloadObjectRef(ref), operations, from: current,
    phase: { start: `removing what dev mode left on ${displayRef(ref)}`, done: `${displayRef(ref)}: dev mode's remains removed, the other change kept` },
    precondition: workloadPrecondition(current, request, 'cleaning it up'),
  }];
  if (steps.length > 0 && ref.kind.onDeleteUpdates) steps.push(...onDeleteRestart(reverted.cleaned, state.firstPod, ref.namespace, request.timeoutMs));
  const leftovers = withPhase(leftoverSteps(state, request));
  return { steps: [...steps, ...leftovers], wasInDevMode: true, reverted: reverted.check, ...(steps.length > 0 ? { restoreStep: 0 } : {}) };
}

/** The restore and the removals; then, when start paused an Argo CD Application's sync for this workload, its resumption. */
export function planEnd(state: EndState, request: EndRequest): EndPlan {
  const plan = planRestore(state, request);
  const { ref } = request;
  const resume = resumeStep(state.pausedApplication, pausedSyncId(ref.namespace, devModeNames(ref.kind, ref.name).workloadLabel));
  if (resume) plan.steps.push(plan.steps.length === 0 ? { ...resume, phase: { start: 'removing what dev mode added' } } : resume);
  return plan;
}

function planRestore(state: EndState, request: EndRequest): EndPlan {
  const { ref } = request;
  if (state.current && isDuplicate(state.current)) return planEndDuplicate(state.current, state, request);
  if (ref.kind.strategy === 'recreate') return planEndPod(state, request);
  const { current, original } = state;
  if (current && state.reverted) return planCleanup(current, state.reverted, state, request);
  if (!current || !isInDevMode(current) || !original) {
    // An end interrupted after the restore left a dev pod 0 that an OnDelete StatefulSet keeps.
    const restart = current && ref.kind.onDeleteUpdates ? onDeleteRestart(current, state.firstPod, ref.namespace, request.timeoutMs) : [];
    return { steps: [...restart, ...leftoverSteps(state, request)], wasInDevMode: false, ...(current ? {} : { missing: notFound(request) }) };
  }
  if (state.drift && !request.force) {
    throw new DevError('DRIFT', `${displayRef(ref)} was changed while in dev mode: ${state.drift}`,
      `ending dev mode restores the original and loses those changes: run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} --force to do it anyway, then re-apply them (helm upgrade, kubectl apply).`);
  }
  const restored = restoredFrom(original, current);
  const steps: PlanStep[] = [{
    type: 'patch', label: 'restore the workload', ref: workloadObjectRef(ref), operations: jsonPatch.compare(current, restoredOnto(current, restored)), from: current,
    phase: { start: `restoring ${displayRef(ref)}`, done: `${displayRef(ref)} restored` },
    precondition: workloadPrecondition(current, request, 'restoring it'),
  }];
  if (ref.kind.onDeleteUpdates) steps.push(...onDeleteRestart(restored, state.firstPod, ref.namespace, request.timeoutMs));
  return { steps: [...steps, ...withPhase(leftoverSteps(state, request))], wasInDevMode: true, restoreStep: 0 };
}
