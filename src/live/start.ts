// `kubectl dev start` on a live cluster: read what the plan needs (readStart), plan it
// (start-plan.ts, pure), then run the plan (execute.ts) or, with --dry-run, return it.
// Every step converges, so that a start killed at any point leaves a state from which `end`
// restores the original and a new start completes.

import { duplicateOf, isDuplicate } from '../core/duplicate.ts';
import { devModeNames, isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { generatedKindOf, type WorkloadKind } from '../core/kinds.ts';
import { generatedName, originalConfigMapName } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import { DEFAULT_WORKDIR, type DevSettings } from '../core/settings.ts';
import type { ObjectRef } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';
import { dryRunOnServer, executePlan } from './execute.ts';
import { listHpas } from './hpa.ts';
import { apiVersionOf, displayRef, readTemplateHolder, workloadObjectRef } from './objects.ts';
import { originalOf } from './original.ts';
import { afterPermissionCheck, requirePermissions, volumePermissions } from './permissions.ts';
import { firstPodName, type PlanStep } from './plan.ts';
import { liveWaits } from './wait.ts';
import { readGitOps } from './gitops.ts';
import { whoAmI } from './holder.ts';
import { devModeOf, planStart, refuseOtherHolder, type StartRequest, type StartState } from './start-plan.ts';

export type { StartRequest } from './start-plan.ts';

export interface StartResult {
  workload: KubeObject;
  settings: DevSettings;
  secretName: string;
  workloadLabel: string;
  /** True when the workload was already in dev mode with the same settings. */
  alreadyInDevMode: boolean;
  /** Duplicate mode: the dev copy that is in dev mode (the workload asked for is untouched). */
  copy?: { kind: WorkloadKind; name: string; namespace: string };
  devPod?: KubeObject;
  /** With --dry-run: the plan start would run (as the API server takes it, with --dry-run=server). */
  changes: PlanStep[];
}

/** A read that a missing `get` permission must not stop: the plan then creates, and takes what a refused create finds. */
export async function getIfAllowed(ref: ObjectRef, deps: LiveDeps): Promise<KubeObject | undefined> {
  try {
    return await deps.api.get(ref);
  } catch (error) {
    if (error instanceof DevError && error.code === 'FORBIDDEN') return undefined;
    throw error;
  }
}

/** The generated objects of the kind that exist, by name. */
async function readGenerated(request: StartRequest, deps: LiveDeps): Promise<Record<string, KubeObject>> {
  const { ref } = request;
  if (!ref.kind.generates) return {};
  const name = generatedName(ref.name, generatedKindOf(ref.kind));
  const found = await getIfAllowed({ ...ref.kind.generates, name, namespace: ref.namespace }, deps);
  return found ? { [name]: found } : {};
}

/**
 * Everything planStart needs, read at once. The sync Secret's keys are made (CPU) while the
 * workload is read (network); made again when the plan's work dir is not the one guessed.
 */
export async function readStart(request: StartRequest, deps: LiveDeps): Promise<StartState> {
  const { ref } = request;
  const ns = ref.namespace;
  const { secretName, claimName } = devModeNames(ref.kind, ref.name);
  const persists = (request.settings.persist ?? []).length > 0;
  const now = new Date(deps.clock.now()).toISOString();
  const guessedWorkdir = request.settings.workdir ?? DEFAULT_WORKDIR;
  const early = deps.syncSecret({ workload: { apiVersion: apiVersionOf(ref.kind), kind: ref.kind.kind, metadata: { name: ref.name, namespace: ns } }, secretName, namespace: ns, workdir: guessedWorkdir });
  early.catch(() => {});
  const configMap = (kind: string) => getIfAllowed({ apiVersion: 'v1', kind: 'ConfigMap', name: originalConfigMapName(kind, ref.name), namespace: ns }, deps);
  const check = request.dryRun === 'client' ? undefined : requirePermissions(ref.kind, ns, `put ${displayRef(ref)} in dev mode`, deps, persists ? volumePermissions(ns, ['create']) : []);
  const [workload, found, storeConfigMap, hpas, generated, firstPod, claim, me] = await afterPermissionCheck(check, Promise.all([
    deps.api.get(workloadObjectRef(ref)),
    getIfAllowed({ apiVersion: 'v1', kind: 'Secret', name: secretName, namespace: ns }, deps),
    configMap(ref.kind.kind),
    ref.kind.hasReplicas ? listHpas(deps.api, ns) : [],
    readGenerated(request, deps),
    ref.kind.onDeleteUpdates ? getIfAllowed({ apiVersion: 'v1', kind: 'Pod', name: firstPodName(ref.name), namespace: ns }, deps) : undefined,
    persists ? getIfAllowed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claimName, namespace: ns }, deps) : undefined,
    whoAmI(deps),
  ]));
  const state: StartState = { now, hpas, generated, secret: { made: await early }, me, ...(firstPod ? { firstPod } : {}), ...(claim ? { claim } : {}) };
  // A Pod's ConfigMap is its saved original while it is replaced; another kind's, its original too large for an annotation.
  if (storeConfigMap) state[ref.kind.strategy === 'recreate' ? 'podState' : 'originalConfigMap'] = storeConfigMap;
  if (!workload) return state;
  state.workload = workload;
  if (isDuplicate(workload)) {
    const of = String(duplicateOf(workload)).toLowerCase();
    throw new DevError('ALREADY_IN_DEV_MODE', `${displayRef(ref)} is a dev copy of ${of} (duplicate mode), in dev mode already`,
      `sync, run, exec and end work on it by its name; to start it again: kubectl dev start ${of} --duplicate -n ${ns}`);
  }
  refuseOtherHolder(workload, me, ref);
  if (isInDevMode(workload)) state.original = await originalOf(workload, ns, deps.api);
  else if (!request.duplicate) state.gitops = await readGitOps(workload, ref, request.gitops, deps.api);
  const templateHolder = await readTemplateHolder(state.original ?? workload, ref.kind, ns, deps.api);
  if (templateHolder) state.templateHolder = templateHolder;
  const mode = devModeOf(workload, state.original, request, now, templateHolder);
  if (mode.alreadyInDevMode || mode.settings.workdir !== guessedWorkdir) {
    state.secret.made = await deps.syncSecret({ workload: mode.devWorkload, secretName, namespace: ns, workdir: mode.settings.workdir });
  }
  if (found) {
    state.secret.found = found;
    state.secret.fitting = await deps.syncSecret({ workload: mode.devWorkload, secretName, namespace: ns, workdir: mode.settings.workdir, existing: found });
  }
  return state;
}

export async function startLive(request: StartRequest, deps: LiveDeps): Promise<StartResult> {
  if (request.duplicate) return (await import('./duplicate.ts')).startDuplicate(request, deps);
  const { ref } = request;
  deps.progress.start(`reading ${displayRef(ref)}`);
  const { secretName, workloadLabel } = devModeNames(ref.kind, ref.name);
  const plan = planStart(await readStart(request, deps), request);
  const { mode } = plan;
  const result: StartResult = { workload: mode.devWorkload, settings: mode.settings, secretName, workloadLabel, alreadyInDevMode: mode.alreadyInDevMode, changes: [] };
  if (request.dryRun) {
    result.changes = request.dryRun === 'server' ? await dryRunOnServer(plan.steps, deps.api) : plan.steps;
    deps.progress.succeed();
    return result;
  }
  deps.progress.succeed(mode.alreadyInDevMode ? `${displayRef(ref)} is already in dev mode with these settings` : undefined);
  const outcome = await executePlan(plan.steps, { api: deps.api, checkpoint: deps.checkpoint, progress: deps.progress, waits: liveWaits(deps) });
  if (plan.workloadStep !== undefined) result.workload = outcome.results[plan.workloadStep] as KubeObject;
  const last = plan.steps.length - 1;
  if (plan.steps[last]?.type === 'wait-dev-pod') result.devPod = outcome.results[last] as KubeObject;
  return result;
}
