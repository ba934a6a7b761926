// `kubectl dev end` on a live cluster: restore the workload by patch (same UID, exact labels,
// annotations and spec), then remove everything start added. Safe to run again after any
// interruption of start or end: leftovers are found by label and removed.

import { compare, type Operation } from 'fast-json-patch';
import { devModeNames, enterWorkload, isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import { DEV_MODE_LABEL, GENERATION_ANNOTATION, ORIGINAL_CONFIGMAP_KEY, ORIGINAL_ANNOTATION } from '../core/marks.ts';
import { originalConfigMapName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import { restorableState } from '../core/original.ts';
import type { LiveDeps } from './deps.ts';
import { restoreHpas } from './hpa.ts';
import { keptOnRestore, displayRef, forCreate, generatedSelector, refOfObject, workloadObjectRef } from './objects.ts';
import { originalOf } from './original.ts';
import { requirePermissions } from './permissions.ts';
import { restartOnDeletePods, waitUntilGone } from './pods.ts';

export interface EndRequest {
  ref: WorkloadRef & { namespace: string };
  /** Restore even if the workload was changed while in dev mode. */
  force?: boolean;
  timeoutMs: number;
}

export interface EndResult {
  /** False when the workload was not in dev mode (leftovers may still have been removed). */
  wasInDevMode: boolean;
  restored?: KubeObject;
  removed: string[];
}

/** Kinds of objects start may leave, found by the generated label. */
const LEFTOVER_KINDS: ReadonlyArray<[string, string]> = [['apps/v1', 'Deployment'], ['batch/v1', 'Job'], ['v1', 'Secret'], ['v1', 'ConfigMap']];

async function removeLeftovers(ref: EndRequest['ref'], deps: LiveDeps, keep: (obj: KubeObject) => boolean = () => false): Promise<string[]> {
  const { workloadLabel } = devModeNames(ref.kind, ref.name);
  const removed: string[] = [];
  const found = await Promise.all(LEFTOVER_KINDS.map(([apiVersion, kind]) => deps.api.list(apiVersion, kind, ref.namespace, { label: generatedSelector(workloadLabel) })));
  for (const obj of found.flat()) {
    if (keep(obj)) continue;
    deps.checkpoint(`delete ${obj.kind} ${obj.metadata?.name}`);
    if (await deps.api.delete(refOfObject(obj, ref.namespace), { propagationPolicy: 'Background' })) removed.push(`${obj.kind}/${obj.metadata?.name}`);
  }
  removed.push(...(await restoreHpas(ref.namespace, workloadLabel, deps)));
  return removed;
}

/** Says what changed since start, or nothing when the workload is as dev mode left it. */
function describeDrift(current: KubeObject, original: KubeObject, request: EndRequest): string | undefined {
  const recorded = current.metadata?.annotations?.[GENERATION_ANNOTATION];
  const problems: string[] = [];
  if (recorded !== undefined && String(current.metadata?.generation) !== recorded) {
    const expected = enterWorkload(original, request.ref.kind, {})[0] as KubeObject;
    // Server defaults show up as additions; edits are replacements and removals.
    const edits = compare(expected.spec ?? {}, current.spec ?? {}).filter((op) => op.op !== 'add').map((op) => `spec${op.path.replaceAll('/', '.')}`);
    problems.push(`its spec changed (generation ${recorded} → ${String(current.metadata?.generation)}${edits.length ? `: ${edits.slice(0, 8).join(', ')}${edits.length > 8 ? ', …' : ''}` : ''})`);
  }
  const labels = { ...(current.metadata?.labels ?? {}) };
  delete labels[DEV_MODE_LABEL];
  const changedLabels = compare(original.metadata?.labels ?? {}, labels).map((op) => op.path.slice(1).replaceAll('~1', '/'));
  if (changedLabels.length > 0) problems.push(`its labels changed (${changedLabels.join(', ')})`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

export async function endLive(request: EndRequest, deps: LiveDeps): Promise<EndResult> {
  const { ref } = request;
  if (ref.kind.strategy === 'recreate') return endPod(request, deps);
  deps.progress.start(`reading ${displayRef(ref)}`);
  const wref = workloadObjectRef(ref);
  const [current] = await Promise.all([deps.api.get(wref), requirePermissions(ref.kind, ref.namespace, `end dev mode of ${displayRef(ref)}`, deps)]);
  deps.progress.succeed();
  if (!current || !isInDevMode(current)) {
    const removed = await removeLeftovers(ref, deps);
    if (!current && removed.length === 0) {
      throw new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
    }
    return { wasInDevMode: false, removed };
  }
  const original = await originalOf(current, ref.namespace, deps.api);
  const drift = describeDrift(current, original, request);
  if (drift && !request.force) {
    throw new DevError('DRIFT', `${displayRef(ref)} was changed while in dev mode: ${drift}`,
      `ending dev mode restores the original and loses those changes: run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} --force to do it anyway, then re-apply them (helm upgrade, kubectl apply).`);
  }
  // Controller-kept annotations keep their current values (the controller would rewrite them anyway).
  const restored = structuredClone(original);
  for (const [key, value] of Object.entries(current.metadata?.annotations ?? {})) {
    if (keptOnRestore(key)) restored.metadata = { ...restored.metadata, annotations: { ...(restored.metadata?.annotations ?? {}), [key]: value } };
  }
  deps.progress.start(`restoring ${displayRef(ref)}`);
  const result = await restoreWithPrecondition(request, current, restored, deps);
  if (ref.kind.kind === 'StatefulSet') await restartOnDeletePods(result, ref.namespace, deps, false);
  deps.progress.succeed(`${displayRef(ref)} restored`);
  deps.progress.start('removing what dev mode added');
  const removed = await removeLeftovers(ref, deps);
  deps.progress.succeed();
  return { wasInDevMode: true, restored: result, removed };
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

/** The restoring patch, refused if the object changed since read; a status-only change (a controller) is retried. */
async function restoreWithPrecondition(request: EndRequest, read: KubeObject, restored: KubeObject, deps: LiveDeps): Promise<KubeObject> {
  const { ref } = request;
  const wref = workloadObjectRef(ref);
  let current = read;
  for (let attempt = 1; ; attempt++) {
    const operations: Operation[] = [{ op: 'replace', path: '/metadata/resourceVersion', value: current.metadata?.resourceVersion }, ...compare(current, restoredOnto(current, restored))];
    deps.checkpoint('restore the workload');
    try {
      return await deps.api.patch(wref, operations);
    } catch (error) {
      if (!(error instanceof DevError && error.code === 'CONFLICT')) throw error;
      const fresh = await deps.api.get(wref);
      if (!fresh || attempt >= 5 || JSON.stringify(restorableState(fresh)) !== JSON.stringify(restorableState(current))) {
        throw new DevError('CONFLICT', `${displayRef(ref)} changed while kubectl-dev was restoring it; nothing was restored`, `run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} again.`);
      }
      current = fresh;
    }
  }
}

/** A Pod comes back by delete and create, from its annotation or, after an interrupted start, from the state ConfigMap. */
async function endPod(request: EndRequest, deps: LiveDeps): Promise<EndResult> {
  const { ref } = request;
  const wref = workloadObjectRef(ref);
  const stateRef = { apiVersion: 'v1', kind: 'ConfigMap', name: originalConfigMapName('Pod', ref.name), namespace: ref.namespace };
  const [pod, state] = await Promise.all([deps.api.get(wref), deps.api.get(stateRef), requirePermissions(ref.kind, ref.namespace, `end dev mode of pod/${ref.name}`, deps)]);
  const saved = (state?.data as Record<string, string> | undefined)?.[ORIGINAL_CONFIGMAP_KEY];
  let original: KubeObject | undefined;
  if (pod && isInDevMode(pod)) {
    original = saved !== undefined ? (JSON.parse(saved) as KubeObject) : forCreate(exitWorkload(pod));
    deps.progress.start(`restoring pod/${ref.name}`);
    deps.checkpoint('delete the dev Pod');
    await deps.api.delete(wref, { uid: String(pod.metadata?.uid) });
    await waitUntilGone(wref, String(pod.metadata?.uid), request.timeoutMs, deps);
  } else if (!pod && saved !== undefined) {
    original = JSON.parse(saved) as KubeObject;
    deps.progress.start(`recreating pod/${ref.name} from its saved original`);
  }
  let restored: KubeObject | undefined;
  if (original) {
    delete original.metadata?.annotations?.[ORIGINAL_ANNOTATION];
    deps.checkpoint('create the original Pod');
    restored = await deps.api.create(forCreate(original));
    deps.progress.succeed(`pod/${ref.name} restored`);
  }
  const removed = await removeLeftovers(ref, deps);
  if (!pod && !original && removed.length === 0) {
    throw new DevError('NOT_FOUND', `pod/${ref.name} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get pods -n ${ref.namespace}`);
  }
  return restored ? { wasInDevMode: true, restored, removed } : { wasInDevMode: false, removed };
}
