// `kubectl dev end` on a live cluster: read the workload, what changed on it while in dev
// mode and what dev mode left (readEnd), plan the restore (end-plan.ts, pure) and run it
// (execute.ts). Safe to run again after any interruption of start or end.

import jsonPatch, { type Operation } from 'fast-json-patch';
import { metadataDrift, settingsInputOf, specPath } from '../core/drift.ts';
import { isDuplicate } from '../core/duplicate.ts';
import { devModeNames, isInDevMode, recordedSettings, remade } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { generatedKinds } from '../core/kinds.ts';
import { isOtherUser, parseHolder, type Holder } from '../core/holder.ts';
import { GENERATION_ANNOTATION, GITOPS_ANNOTATION, HOLDER_ANNOTATION, SINCE_ANNOTATION } from '../core/marks.ts';
import { ARGO_APPLICATION, parseGitOpsRecord } from '../core/gitops.ts';
import { originalConfigMapName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import { withoutDevMode } from '../core/revert.ts';
import type { LiveDeps } from './deps.ts';
import { devPodSelector } from './dev-pod.ts';
import { planEnd, withJobServerFields, type EndRequest, type EndState, type Reverted } from './end-plan.ts';
import { executePlan } from './execute.ts';
import { pausedSyncId, readPausedApplication, resumeStep } from './gitops.ts';
import { whoAmI } from './holder.ts';
import { listClampedHpas } from './hpa.ts';
import { displayRef, generatedSelector, readTemplateHolder, workloadObjectRef } from './objects.ts';
import { originalOf } from './original.ts';
import { afterPermissionCheck, requirePermissions, volumePermissions } from './permissions.ts';
import { readDevModeCheck } from './revert.ts';
import { firstPodName } from './plan.ts';
import { liveWaits } from './wait.ts';

export type { EndRequest } from './end-plan.ts';

export interface EndResult {
  /** False when the workload was not in dev mode (leftovers may still have been removed). */
  wasInDevMode: boolean;
  /** The workload was a dev copy (duplicate mode) and is deleted: `Kind/name` of the original, which end never touches. */
  duplicateOf?: string;
  restored?: KubeObject;
  removed: string[];
  /** The persistent claim left for the next start (no --delete-volumes). */
  keptClaim?: string;
  /** Another field manager had reverted dev mode: its change was kept (what dev mode left was removed). */
  reverted?: Reverted;
  /** Who held the dev mode this end ended, when it was someone else. */
  heldByOther?: Holder & { since?: string };
}

/** Kinds of objects start may leave, found by the generated label. */
const LEFTOVER_KINDS: ReadonlyArray<[string, string]> = [...generatedKinds().map((g): [string, string] => [g.apiVersion, g.kind]), ['v1', 'Secret'], ['v1', 'ConfigMap']];

/** The workload as dev mode made it from its original, with the settings it recorded (undefined when they cannot be read). */
function asDevModeMadeIt(current: KubeObject, original: KubeObject, request: EndRequest, templateHolder: KubeObject | undefined): KubeObject | undefined {
  const settings = recordedSettings(current);
  if (!settings) return undefined;
  try {
    return remade(current, original, request.ref.kind, settingsInputOf(settings), templateHolder ? { templateHolder } : {});
  } catch {
    return undefined;
  }
}

/** The changed or removed spec paths against dev mode's rewrite with default settings; undefined when it cannot be made (its template holder is gone). */
function editsAgainstDefaults(current: KubeObject, original: KubeObject, request: EndRequest, templateHolder: KubeObject | undefined): { exact: boolean; paths: string[] } {
  let made: KubeObject;
  try {
    made = remade(current, original, request.ref.kind, {}, templateHolder ? { templateHolder } : {});
  } catch {
    return { exact: false, paths: [] };
  }
  return { exact: false, paths: jsonPatch.compare((made.spec ?? {}) as object, (current.spec ?? {}) as object).filter((op) => op.op !== 'add').map((op) => specPath(op.path)) };
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
    return { exact: true, paths: jsonPatch.compare((defaulted.spec ?? {}) as object, (current.spec ?? {}) as object).filter(compared).map((op) => specPath(op.path)) };
  } catch (error) {
    if (!(error instanceof DevError && error.code === 'INVALID_OBJECT')) throw error;
    return { exact: false, paths: jsonPatch.compare((spec ?? {}) as object, (current.spec ?? {}) as object).filter((op) => op.op !== 'add' && compared(op)).map((op) => specPath(op.path)) };
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
  // A holder that is gone leaves the spec comparison without a template: the drift says so.
  const templateHolder = await readTemplateHolder(original, request.ref.kind, request.ref.namespace, deps.api).catch(() => undefined);
  const made = asDevModeMadeIt(current, original, request, templateHolder);
  const problems: string[] = [];
  if (recorded !== undefined) {
    if (String(current.metadata?.generation) !== recorded) {
      const edits = made ? await specEdits(current, made, request, deps, false) : editsAgainstDefaults(current, original, request, templateHolder);
      if (!edits.exact || edits.paths.length > 0) {
        problems.push(`its spec changed (generation ${recorded} → ${String(current.metadata?.generation)}${edits.paths.length ? `: ${listed(edits.paths)}` : ''})`);
      }
    }
  } else if (made) {
    const edits = await specEdits(current, made, request, deps, true);
    if (edits.paths.length > 0) problems.push(`its spec is not what dev mode made of it (${listed(edits.paths)})`);
  }
  // Dev mode adds only its marks to the workload's own labels and annotations, and the GitOps switches it recorded.
  const switches = parseGitOpsRecord(current.metadata?.annotations?.[GITOPS_ANNOTATION])?.switches ?? {};
  const expected = { labels: original.metadata?.labels, annotations: { ...(original.metadata?.annotations ?? {}), ...switches } };
  const changed = metadataDrift(expected, current.metadata ?? {});
  if (changed.labels.length > 0) problems.push(`its labels changed (${changed.labels.join(', ')})`);
  if (changed.annotations.length > 0) problems.push(`its annotations changed (${listed(changed.annotations)})`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/**
 * The Argo CD Application start paused for this workload (--gitops=pause), when it did: the one
 * its record names, or, for a workload not in dev mode (a start interrupted after the pause), the
 * one its marks name. Refused before any change when the user may not give its sync back.
 */
async function readPaused(current: KubeObject, request: EndRequest, deps: LiveDeps): Promise<KubeObject | undefined> {
  const { ref } = request;
  const record = parseGitOpsRecord(current.metadata?.annotations?.[GITOPS_ANNOTATION]);
  if (isInDevMode(current) && !record?.paused) return undefined;
  let app: KubeObject | undefined;
  try {
    app = await readPausedApplication(current, record, ref.namespace, deps.api);
  } catch (error) {
    if (!record?.paused && error instanceof DevError && error.code === 'FORBIDDEN') return undefined;
    throw error;
  }
  if (!app || !resumeStep(app, pausedSyncId(ref.namespace, devModeNames(ref.kind, ref.name).workloadLabel))) return undefined;
  const namespace = String(app.metadata?.namespace);
  const missing = await deps.api.missingPermissions(['get', 'patch'].map((verb) => ({ verb, group: ARGO_APPLICATION.group, resource: ARGO_APPLICATION.resource, namespace })));
  if (missing.length > 0) {
    throw new DevError('FORBIDDEN', `ending dev mode of ${displayRef(ref)} gives the automated sync of Argo CD Application ${namespace}/${app.metadata?.name} back, and you may not change it: missing ${missing.map((p) => `${p.verb} applications.argoproj.io`).join(', ')} in namespace ${namespace}`,
      `run kubectl dev end as someone who may (or ask a cluster admin for get and patch on applications.argoproj.io in namespace ${namespace}); nothing was changed.`);
  }
  return app;
}

/** Everything planEnd needs, read at once (then the original and its drift, for a workload in dev mode). */
export async function readEnd(request: EndRequest, deps: LiveDeps): Promise<EndState> {
  const { ref } = request;
  const ns = ref.namespace;
  const { workloadLabel, claimName } = devModeNames(ref.kind, ref.name);
  const isPod = ref.kind.strategy === 'recreate';
  const permissions = requirePermissions(ref.kind, ns, `end dev mode of ${displayRef(ref)}`, deps, request.deleteVolumes ? volumePermissions(ns, ['delete']) : []);
  const [current, podState, leftovers, devPods, clampedHpas, firstPod, claim, me] = await afterPermissionCheck(permissions, Promise.all([
    deps.api.get(workloadObjectRef(ref)),
    isPod ? deps.api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: originalConfigMapName('Pod', ref.name), namespace: ns }) : undefined,
    Promise.all(LEFTOVER_KINDS.map(([apiVersion, kind]) => deps.api.list(apiVersion, kind, ns, { label: generatedSelector(workloadLabel) }))),
    deps.api.list('v1', 'Pod', ns, { label: devPodSelector(ref) }, { metadataOnly: true }),
    listClampedHpas(deps.api, ns, workloadLabel),
    ref.kind.onDeleteUpdates ? deps.api.get({ apiVersion: 'v1', kind: 'Pod', name: firstPodName(ref.name), namespace: ns }) : undefined,
    // Read without --delete-volumes too, to say it is kept; a user who may not read claims has none of dev mode's.
    deps.api.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claimName, namespace: ns }).catch((error: unknown) => {
      if (!request.deleteVolumes && error instanceof DevError && error.code === 'FORBIDDEN') return undefined;
      throw error;
    }),
    whoAmI(deps),
  ]));
  const state: EndState = {
    leftovers: leftovers.flat(), devPods, clampedHpas,
    ...(current ? { current } : {}), ...(podState ? { podState } : {}), ...(firstPod ? { firstPod } : {}), ...(claim ? { claim } : {}),
  };
  const pausedApplication = current ? await readPaused(current, request, deps) : undefined;
  if (pausedApplication) state.pausedApplication = pausedApplication;
  const holder = current && isInDevMode(current) ? parseHolder(current.metadata?.annotations?.[HOLDER_ANNOTATION]) : undefined;
  if (holder && isOtherUser(holder, me)) state.heldByOther = { ...holder, ...(current?.metadata?.annotations?.[SINCE_ANNOTATION] ? { since: current.metadata.annotations[SINCE_ANNOTATION] } : {}) };
  if (isPod || !current || isDuplicate(current)) return state;
  const secret = state.leftovers.find((o) => o.kind === 'Secret' && o.metadata?.name === devModeNames(ref.kind, ref.name).secretName);
  const { check, original } = await readDevModeCheck(current, ref.kind, ns, deps.api, secret?.metadata?.annotations?.[SINCE_ANNOTATION]);
  // --force restores the original over the other change, when there is one to restore.
  if (check.state === 'reverted' && !(request.force && original)) {
    state.reverted = { check, cleaned: withoutDevMode(current, ref.kind, original) };
    return state;
  }
  if (!isInDevMode(current)) return state;
  state.original = await originalOf(current, ns, deps.api);
  const drift = await describeDrift(current, state.original, request, deps);
  if (drift !== undefined) state.drift = drift;
  return state;
}

export async function endLive(request: EndRequest, deps: LiveDeps): Promise<EndResult> {
  deps.progress.start(`reading ${displayRef(request.ref)}`);
  const state = await readEnd(request, deps);
  const plan = planEnd(state, request);
  const kept = !request.deleteVolumes && state.claim ? { keptClaim: String(state.claim.metadata?.name) } : {};
  deps.progress.succeed();
  const outcome = await executePlan(plan.steps, { api: deps.api, checkpoint: deps.checkpoint, progress: deps.progress, waits: liveWaits(deps) });
  if (plan.missing && outcome.reported.length === 0) throw plan.missing;
  const restored = plan.restoreStep !== undefined ? (outcome.results[plan.restoreStep] as KubeObject) : undefined;
  const heldByOther = state.heldByOther ? { heldByOther: state.heldByOther } : {};
  if (plan.duplicateOf !== undefined) return { wasInDevMode: true, duplicateOf: plan.duplicateOf, removed: outcome.reported, ...kept, ...heldByOther };
  const reverted = plan.reverted ? { reverted: plan.reverted } : {};
  return restored ? { wasInDevMode: true, restored, removed: outcome.reported, ...kept, ...reverted, ...heldByOther } : { wasInDevMode: plan.wasInDevMode, removed: outcome.reported, ...kept, ...reverted, ...heldByOther };
}
