// `kubectl dev end` on a live cluster: restore the workload by patch (same UID, exact labels,
// annotations and spec), then remove everything start added. Safe to run again after any
// interruption of start or end: leftovers are found by label and removed.

import { compare, type Operation } from 'fast-json-patch';
import { controllerOwnedLabel, metadataDrift, settingsInputOf, specPath } from '../core/drift.ts';
import { devModeNames, enterWorkload, isInDevMode, recordedSettings } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import { generatedKinds, workloadKindOf, type WorkloadRef } from '../core/kinds.ts';
import { GENERATION_ANNOTATION, ORIGINAL_CONFIGMAP_KEY, ORIGINAL_ANNOTATION } from '../core/marks.ts';
import { originalConfigMapName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import { restorableState } from '../core/original.ts';
import type { LiveDeps } from './deps.ts';
import { controllerOf, devPodSelector } from './dev-pod.ts';
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
const LEFTOVER_KINDS: ReadonlyArray<[string, string]> = [...generatedKinds().map((g): [string, string] => [g.apiVersion, g.kind]), ['v1', 'Secret'], ['v1', 'ConfigMap']];

async function removeLeftovers(ref: EndRequest['ref'], deps: LiveDeps, keep: (obj: KubeObject) => boolean = () => false): Promise<string[]> {
  const { workloadLabel } = devModeNames(ref.kind, ref.name);
  const removed: string[] = [];
  const found = await Promise.all(LEFTOVER_KINDS.map(([apiVersion, kind]) => deps.api.list(apiVersion, kind, ref.namespace, { label: generatedSelector(workloadLabel) })));
  for (const obj of found.flat()) {
    if (keep(obj)) continue;
    deps.checkpoint(`delete ${obj.kind} ${obj.metadata?.name}`);
    if (await deps.api.delete(refOfObject(obj, ref.namespace), { propagationPolicy: 'Background' })) removed.push(`${obj.kind}/${obj.metadata?.name}`);
  }
  removed.push(...(await removeOrphanedDevPods(ref, deps)));
  removed.push(...(await restoreHpas(ref.namespace, workloadLabel, deps)));
  return removed;
}

/**
 * Dev pods without a controller: left by a generated object deleted without propagation
 * (`kubectl delete --cascade=orphan`, or end before 98fd996 for a Job's dev pod). Pods with a
 * controller go with it (the generated objects are deleted in the background; a workload's own
 * pods are replaced by its controller once restored).
 */
async function removeOrphanedDevPods(ref: EndRequest['ref'], deps: LiveDeps): Promise<string[]> {
  const removed: string[] = [];
  const pods = await deps.api.list('v1', 'Pod', ref.namespace, { label: devPodSelector(ref) }, { metadataOnly: true });
  for (const pod of pods) {
    const name = String(pod.metadata?.name);
    if (controllerOf(pod) || pod.metadata?.deletionTimestamp || (ref.kind.strategy === 'recreate' && name === ref.name)) continue;
    deps.checkpoint(`delete the orphaned dev pod ${name}`);
    try {
      if (await deps.api.delete({ apiVersion: 'v1', kind: 'Pod', name, namespace: ref.namespace }, { uid: String(pod.metadata?.uid) })) removed.push(`Pod/${name}`);
    } catch (error) {
      if (!(error instanceof DevError && (error.code === 'FORBIDDEN' || error.code === 'CONFLICT'))) throw error;
      deps.progress.note(`the orphaned dev pod ${name} is left: ${error.message}`);
    }
  }
  return removed;
}

/** The workload as dev mode made it from its original, with the settings it recorded (undefined when they cannot be read). */
function asDevModeMadeIt(current: KubeObject, original: KubeObject, request: EndRequest): KubeObject | undefined {
  const settings = recordedSettings(current);
  if (!settings) return undefined;
  try {
    return enterWorkload(original, request.ref.kind, settingsInputOf(settings), { force: true })[0];
  } catch {
    return undefined;
  }
}

/** Labels the Job controller puts on a Job's pod template, with the selector it generates. */
const JOB_CONTROLLER_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];

/**
 * A Job's spec with what the API server generated when the Job was created and will not take
 * away afterwards: its selector and the template's controller labels (both immutable). A
 * Job that `render` put in dev mode saved its manifest's spec, which has neither.
 */
function withJobServerFields(spec: unknown, current: KubeObject): unknown {
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

const listed = (paths: string[]) => `${paths.slice(0, 8).join(', ')}${paths.length > 8 ? ', …' : ''}`;

/**
 * What differs between the spec dev mode made and the spec now. The API server defaults the
 * made spec in a dry-run, so that the comparison is exact (`exact`); where it refuses that
 * spec on this object (an immutable field), only what was changed or removed shows (server
 * defaults are additions). `ignoreReplicas`: the replica count is not compared.
 */
async function specEdits(current: KubeObject, made: KubeObject, request: EndRequest, deps: LiveDeps, ignoreReplicas: boolean): Promise<{ exact: boolean; paths: string[] }> {
  const spec = withJobServerFields(made.spec, current);
  const compared = (op: Operation) => !(ignoreReplicas && op.path === '/replicas');
  try {
    const defaulted = await deps.api.patch(workloadObjectRef(request.ref), [{ op: 'replace', path: '/spec', value: spec }], { dryRun: true });
    return { exact: true, paths: compare((defaulted.spec ?? {}) as object, (current.spec ?? {}) as object).filter(compared).map((op) => specPath(op.path)) };
  } catch (error) {
    if (!(error instanceof DevError && error.code === 'INVALID_OBJECT')) throw error;
    return { exact: false, paths: compare((spec ?? {}) as object, (current.spec ?? {}) as object).filter((op) => op.op !== 'add' && compared(op)).map((op) => specPath(op.path)) };
  }
}

/**
 * Says what changed since start (or since render), or nothing when the workload is as dev
 * mode left it:
 * - the spec: after start, its generation moved from the one recorded (then the spec dev mode
 *   made is compared, so that a change to a Deployment's annotations, which moves its
 *   generation too, is named as what it is); after render, which recorded no generation, the
 *   spec dev mode made is compared, less the replica count (an autoscaler may change it: render
 *   clamps none, and end gives the original count back either way);
 * - labels and annotations, less dev mode's marks and the annotations controllers keep.
 */
async function describeDrift(current: KubeObject, original: KubeObject, request: EndRequest, deps: LiveDeps): Promise<string | undefined> {
  const recorded = current.metadata?.annotations?.[GENERATION_ANNOTATION];
  const made = asDevModeMadeIt(current, original, request);
  const problems: string[] = [];
  if (recorded !== undefined) {
    if (String(current.metadata?.generation) !== recorded) {
      const edits = made
        ? await specEdits(current, made, request, deps, false)
        : { exact: false, paths: compare(((enterWorkload(original, request.ref.kind, {}, { force: true })[0] as KubeObject).spec ?? {}) as object, (current.spec ?? {}) as object).filter((op) => op.op !== 'add').map((op) => specPath(op.path)) };
      if (!edits.exact || edits.paths.length > 0) {
        problems.push(`its spec changed (generation ${recorded} → ${String(current.metadata?.generation)}${edits.paths.length ? `: ${listed(edits.paths)}` : ''})`);
      }
    }
  } else if (made) {
    const edits = await specEdits(current, made, request, deps, true);
    if (edits.paths.length > 0) problems.push(`its spec is not what dev mode made of it (${listed(edits.paths)})`);
  }
  // Dev mode adds only its marks to the workload's own labels and annotations.
  const changed = metadataDrift(original.metadata ?? {}, current.metadata ?? {});
  if (changed.labels.length > 0) problems.push(`its labels changed (${changed.labels.join(', ')})`);
  if (changed.annotations.length > 0) problems.push(`its annotations changed (${listed(changed.annotations)})`);
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
  const drift = await describeDrift(current, original, request, deps);
  if (drift && !request.force) {
    throw new DevError('DRIFT', `${displayRef(ref)} was changed while in dev mode: ${drift}`,
      `ending dev mode restores the original and loses those changes: run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} --force to do it anyway, then re-apply them (helm upgrade, kubectl apply).`);
  }
  // Controller-kept annotations and labels keep their current values (the controller, Helm, would
  // rewrite them anyway); a Job keeps the selector and template labels the API server made for it.
  const restored = structuredClone(original);
  restored.spec = withJobServerFields(restored.spec, current) as KubeObject['spec'];
  for (const [key, value] of Object.entries(current.metadata?.annotations ?? {})) {
    if (keptOnRestore(key)) restored.metadata = { ...restored.metadata, annotations: { ...(restored.metadata?.annotations ?? {}), [key]: value } };
  }
  for (const [key, value] of Object.entries(current.metadata?.labels ?? {})) {
    if (controllerOwnedLabel(key, value)) restored.metadata = { ...restored.metadata, labels: { ...(restored.metadata?.labels ?? {}), [key]: value } };
  }
  deps.progress.start(`restoring ${displayRef(ref)}`);
  const result = await restoreWithPrecondition(request, current, restored, deps);
  if (ref.kind.onDeleteUpdates) await restartOnDeletePods(result, ref.namespace, deps, false);
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
