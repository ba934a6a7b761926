// `kubectl dev start --duplicate` on a live cluster: read the original and what exists of this
// user's copy (readDuplicate), plan (duplicate-plan.ts, pure), then run the plan (execute.ts) or,
// with --dry-run, return it. Nothing is ever written to the original.

import { duplicateRef, duplicateWorkload, isDuplicate } from '../core/duplicate.ts';
import { devModeNames, isInDevMode, recordedSettings } from '../core/enter.ts';
import type { KubeObject } from '../core/objects.ts';
import { DEFAULT_WORKDIR } from '../core/settings.ts';
import type { LiveDeps } from './deps.ts';
import { planDuplicate, type DuplicateState } from './duplicate-plan.ts';
import { dryRunOnServer, executePlan } from './execute.ts';
import { apiVersionOf, displayRef, readTemplateHolder, workloadObjectRef } from './objects.ts';
import { originalOf } from './original.ts';
import { afterPermissionCheck, requireDuplicatePermissions, volumePermissions } from './permissions.ts';
import { getIfAllowed, type StartRequest, type StartResult } from './start.ts';
import { liveWaits } from './wait.ts';

/** The work dir the copy will have, when its settings are valid (else the plan says why). */
function plannedWorkdir(state: DuplicateState, request: StartRequest): string | undefined {
  try {
    const made = duplicateWorkload(state.source ?? state.original!, request.ref.kind, request.settings, { user: state.user, now: state.now, ...(state.templateHolder ? { templateHolder: state.templateHolder } : {}) });
    return recordedSettings(made)?.workdir;
  } catch {
    return undefined;
  }
}

/**
 * Everything planDuplicate needs: who the user is (the copy's name depends on it), then at once
 * the original, the copy and its Secret (while the Secret's keys are made), and the permissions.
 */
export async function readDuplicate(request: StartRequest, deps: LiveDeps): Promise<DuplicateState> {
  const { ref } = request;
  const ns = ref.namespace;
  const now = new Date(deps.clock.now()).toISOString();
  const { username: user } = await deps.api.whoAmI();
  const copyRef = { ...duplicateRef(ref.kind, ref.name, user), namespace: ns };
  const { secretName, claimName } = devModeNames(copyRef.kind, copyRef.name);
  const guessedWorkdir = request.settings.workdir ?? DEFAULT_WORKDIR;
  const copyStub: KubeObject = { apiVersion: apiVersionOf(copyRef.kind), kind: copyRef.kind.kind, metadata: { name: copyRef.name, namespace: ns } };
  const early = deps.syncSecret({ workload: copyStub, secretName, namespace: ns, workdir: guessedWorkdir });
  early.catch(() => {});
  const persists = (request.settings.persist ?? []).length > 0;
  const check = request.dryRun === 'client' ? undefined : requireDuplicatePermissions(ref.kind, ns, `make a dev copy of ${displayRef(ref)}`, deps, persists ? volumePermissions(ns, ['create']) : []);
  const [original, copy, found, claim] = await afterPermissionCheck(check, Promise.all([
    deps.api.get(workloadObjectRef(ref)),
    getIfAllowed(workloadObjectRef(copyRef), deps),
    getIfAllowed({ apiVersion: 'v1', kind: 'Secret', name: secretName, namespace: ns }, deps),
    persists ? getIfAllowed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claimName, namespace: ns }, deps) : undefined,
  ]));
  const state: DuplicateState = { now, user, secret: { made: await early }, ...(original ? { original } : {}), ...(copy ? { copy } : {}), ...(claim ? { claim } : {}) };
  if (!original) return state;
  // An original in replace mode is copied from its saved original (its dev pod template would be rewritten twice).
  if (isInDevMode(original) && !isDuplicate(original)) state.source = await originalOf(original, ns, deps.api);
  const templateHolder = await readTemplateHolder(state.source ?? original, ref.kind, ns, deps.api);
  if (templateHolder) state.templateHolder = templateHolder;
  const workdir = plannedWorkdir(state, request) ?? guessedWorkdir;
  if (workdir !== guessedWorkdir) state.secret.made = await deps.syncSecret({ workload: copyStub, secretName, namespace: ns, workdir });
  if (found) {
    state.secret.found = found;
    state.secret.fitting = await deps.syncSecret({ workload: copy ?? copyStub, secretName, namespace: ns, workdir, existing: found });
  }
  return state;
}

export async function startDuplicate(request: StartRequest, deps: LiveDeps): Promise<StartResult> {
  const { ref } = request;
  deps.progress.start(`reading ${displayRef(ref)}`);
  const plan = planDuplicate(await readDuplicate(request, deps), request);
  const { secretName, workloadLabel } = devModeNames(plan.copyRef.kind, plan.copyRef.name);
  const result: StartResult = {
    workload: plan.copy, settings: plan.settings, secretName, workloadLabel, alreadyInDevMode: plan.alreadyInDevMode, changes: [],
    copy: { ...plan.copyRef, namespace: ref.namespace },
  };
  if (request.dryRun) {
    result.changes = request.dryRun === 'server' ? await dryRunOnServer(plan.steps, deps.api) : plan.steps;
    deps.progress.succeed();
    return result;
  }
  deps.progress.succeed(plan.alreadyInDevMode ? `your dev copy ${displayRef(plan.copyRef)} of ${displayRef(ref)} is already in dev mode with these settings` : undefined);
  const outcome = await executePlan(plan.steps, { api: deps.api, checkpoint: deps.checkpoint, progress: deps.progress, waits: liveWaits(deps) });
  if (plan.copyStep !== undefined) result.workload = outcome.results[plan.copyStep] as KubeObject;
  const last = plan.steps.length - 1;
  if (plan.steps[last]?.type === 'wait-dev-pod') result.devPod = outcome.results[last] as KubeObject;
  return result;
}
