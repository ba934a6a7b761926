// `kubectl dev end` on a live cluster: read the workload, what changed on it while in dev
// mode and what dev mode left (readEnd), plan the restore (end-plan.ts, pure) and run it
// (execute.ts). Safe to run again after any interruption of start or end.

import { compare, type Operation } from 'fast-json-patch';
import { metadataDrift, settingsInputOf, specPath } from '../core/drift.ts';
import { devModeNames, enterWorkload, isInDevMode, recordedSettings } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { generatedKinds } from '../core/kinds.ts';
import { GENERATION_ANNOTATION } from '../core/marks.ts';
import { originalConfigMapName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import type { LiveDeps } from './deps.ts';
import { devPodSelector } from './dev-pod.ts';
import { planEnd, withJobServerFields, type EndRequest, type EndState } from './end-plan.ts';
import { executePlan } from './execute.ts';
import { listClampedHpas } from './hpa.ts';
import { displayRef, generatedSelector, workloadObjectRef } from './objects.ts';
import { originalOf } from './original.ts';
import { requirePermissions } from './permissions.ts';
import { firstPodName } from './plan.ts';
import { liveWaits } from './wait.ts';

export type { EndRequest } from './end-plan.ts';

export interface EndResult {
  /** False when the workload was not in dev mode (leftovers may still have been removed). */
  wasInDevMode: boolean;
  restored?: KubeObject;
  removed: string[];
}

/** Kinds of objects start may leave, found by the generated label. */
const LEFTOVER_KINDS: ReadonlyArray<[string, string]> = [...generatedKinds().map((g): [string, string] => [g.apiVersion, g.kind]), ['v1', 'Secret'], ['v1', 'ConfigMap']];

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

/** Everything planEnd needs, read at once (then the original and its drift, for a workload in dev mode). */
export async function readEnd(request: EndRequest, deps: LiveDeps): Promise<EndState> {
  const { ref } = request;
  const ns = ref.namespace;
  const { workloadLabel } = devModeNames(ref.kind, ref.name);
  const isPod = ref.kind.strategy === 'recreate';
  const [current, podState, leftovers, devPods, clampedHpas, firstPod] = await Promise.all([
    deps.api.get(workloadObjectRef(ref)),
    isPod ? deps.api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: originalConfigMapName('Pod', ref.name), namespace: ns }) : undefined,
    Promise.all(LEFTOVER_KINDS.map(([apiVersion, kind]) => deps.api.list(apiVersion, kind, ns, { label: generatedSelector(workloadLabel) }))),
    deps.api.list('v1', 'Pod', ns, { label: devPodSelector(ref) }, { metadataOnly: true }),
    listClampedHpas(deps.api, ns, workloadLabel),
    ref.kind.onDeleteUpdates ? deps.api.get({ apiVersion: 'v1', kind: 'Pod', name: firstPodName(ref.name), namespace: ns }) : undefined,
    requirePermissions(ref.kind, ns, `end dev mode of ${displayRef(ref)}`, deps),
  ]);
  const state: EndState = { leftovers: leftovers.flat(), devPods, clampedHpas, ...(current ? { current } : {}), ...(podState ? { podState } : {}), ...(firstPod ? { firstPod } : {}) };
  if (isPod || !current || !isInDevMode(current)) return state;
  state.original = await originalOf(current, ns, deps.api);
  const drift = await describeDrift(current, state.original, request, deps);
  if (drift !== undefined) state.drift = drift;
  return state;
}

export async function endLive(request: EndRequest, deps: LiveDeps): Promise<EndResult> {
  deps.progress.start(`reading ${displayRef(request.ref)}`);
  const plan = planEnd(await readEnd(request, deps), request);
  deps.progress.succeed();
  const outcome = await executePlan(plan.steps, { api: deps.api, checkpoint: deps.checkpoint, progress: deps.progress, waits: liveWaits(deps) });
  if (plan.missing && outcome.reported.length === 0) throw plan.missing;
  const restored = plan.restoreStep !== undefined ? (outcome.results[plan.restoreStep] as KubeObject) : undefined;
  return restored ? { wasInDevMode: true, restored, removed: outcome.reported } : { wasInDevMode: plan.wasInDevMode, removed: outcome.reported };
}
