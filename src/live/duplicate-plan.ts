// The plan of `kubectl dev start --duplicate`, pure: from the original and what exists of its
// copy (read by duplicate.ts), the steps that put a dev copy beside the original, which no step
// touches:  sync Secret → its persistent claim (--persist) → create the copy (in dev mode
// already) → wait for its dev pod.
// A start killed between the steps leaves a Secret or a copy that `end` of the copy removes.

import { duplicateOf, duplicateWorkload, isDuplicate } from '../core/duplicate.ts';
import { devModeNames, isInDevMode, recordedSettings } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { duplicateKindOf, type WorkloadKind } from '../core/kinds.ts';
import { DUPLICATE_OF_ANNOTATION, SINCE_ANNOTATION, TAKES_TRAFFIC_ANNOTATION } from '../core/marks.ts';
import { duplicateName } from '../core/names.ts';
import { objectRef, type KubeObject } from '../core/objects.ts';
import type { DevSettings } from '../core/settings.ts';
import { displayRef, forCreate, ownerReferenceTo } from './objects.ts';
import type { PlanStep } from './plan.ts';
import { claimSteps } from './claim-steps.ts';
import { secretSteps, withAnnotation, type StartRequest, type StartState } from './start-plan.ts';

/** Everything the plan needs, read at once. */
export interface DuplicateState {
  /** ISO time of this start. */
  now: string;
  /** The user the copy is for, as the API server named them. */
  user: string;
  original?: KubeObject;
  /** What the copy is made from when the original is in (replace) dev mode itself: its saved original. */
  source?: KubeObject;
  /** The copy, when it exists already. */
  copy?: KubeObject;
  /** The object the original takes its pod template from (a Rollout's workloadRef). */
  templateHolder?: KubeObject;
  /** The copy's persistent claim, when it exists (kept from an earlier copy of this user's). */
  claim?: KubeObject;
  secret: StartState['secret'];
}

export interface DuplicatePlan {
  steps: PlanStep[];
  /** The copy in dev mode: as it will be created, or as found. */
  copy: KubeObject;
  copyRef: { kind: WorkloadKind; name: string };
  settings: DevSettings;
  alreadyInDevMode: boolean;
  /** The step that creates the copy. */
  copyStep?: number;
}

const sameSettings = (a: DevSettings | undefined, b: DevSettings | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** The copy found is this user's copy of this original, entered with the same settings (else why not). */
function checkFound(found: KubeObject, made: KubeObject, original: KubeObject, request: StartRequest, copyText: string): void {
  const { ref } = request;
  if (duplicateOf(found) !== objectRef(original) || !isDuplicate(found)) {
    throw new DevError('CONFLICT', `${copyText} exists and is not a dev copy of ${displayRef(ref)} (${duplicateOf(found) ? `it copies ${duplicateOf(found)}` : 'kubectl-dev did not make it'})`,
      `its name is the one duplicate mode gives your copy of ${displayRef(ref)}: rename or delete that object, or work on it as it is.`);
  }
  const takes = (o: KubeObject) => o.metadata?.annotations?.[TAKES_TRAFFIC_ANNOTATION] === 'true';
  if (!sameSettings(recordedSettings(found), recordedSettings(made)) || takes(found) !== takes(made)) {
    throw new DevError('ALREADY_IN_DEV_MODE', `your dev copy ${copyText} of ${displayRef(ref)} is in dev mode with other settings (${JSON.stringify(recordedSettings(found))}${takes(found) ? ', taking traffic' : ''})`,
      `run kubectl dev end ${copyText} -n ${ref.namespace} first, then start it again with the new settings.`);
  }
}

export function planDuplicate(state: DuplicateState, request: StartRequest): DuplicatePlan {
  const { ref } = request;
  const ns = ref.namespace;
  const { original } = state;
  if (!original) {
    throw new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ns}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ns}`);
  }
  if (isDuplicate(original)) {
    throw new DevError('INVALID_OPTION', `${displayRef(ref)} is itself a dev copy (of ${duplicateOf(original)})`,
      `work on it as it is (kubectl dev sync ${displayRef(ref)} -n ${ns}), or duplicate the original: kubectl dev start ${String(duplicateOf(original)).toLowerCase()} --duplicate -n ${ns}`);
  }
  const copyRef = { kind: duplicateKindOf(ref.kind), name: duplicateName(ref.name, state.user) };
  const copyText = displayRef(copyRef);
  const made = duplicateWorkload(state.source ?? original, ref.kind, request.settings, {
    user: state.user, now: state.now, ...(request.duplicate?.takeTraffic ? { takeTraffic: true } : {}), ...(state.templateHolder ? { templateHolder: state.templateHolder } : {}),
  });
  if (state.copy) checkFound(state.copy, made, original, request, copyText);
  const { workloadLabel } = devModeNames(copyRef.kind, copyRef.name);
  // Owned by the original where its lifetime is dev mode's (not a Job's TTL, not a Pod's replacement): deleting the original deletes its copies.
  const owners = ref.kind.ownsDevObjects ? [ownerReferenceTo(original)] : [];
  const secret = secretSteps({ secret: { ...state.secret, made: withAnnotation(state.secret.made, DUPLICATE_OF_ANNOTATION, objectRef(original)) } }, { devWorkload: made }, owners, workloadLabel, request.devConfig);
  const steps: PlanStep[] = [...secret.steps];
  if (steps[0]) steps[0].phase = { start: 'preparing the sync Secret' };
  let copy = state.copy ?? withAnnotation(made, SINCE_ANNOTATION, secret.since);
  let copyStep: number | undefined;
  if (!state.copy) {
    // Owned by nobody, as in replace mode: the next copy of this user's finds the caches (end --delete-volumes removes it).
    steps.push(...claimSteps(state.claim, recordedSettings(made) as DevSettings, copyRef, ns, request.volume ?? {}));
    if (owners.length > 0) copy = { ...copy, metadata: { ...copy.metadata, ownerReferences: owners } };
    steps.push({
      type: 'create', label: `create the dev copy ${copyRef.kind.kind} ${copyRef.name}`, object: forCreate(copy), keepExisting: true,
      phase: { start: `creating ${copyText}, a dev copy of ${displayRef(ref)}`, done: `${copyText} is in dev mode; ${displayRef(ref)} is untouched` },
    });
    copyStep = steps.length - 1;
  }
  const settings = recordedSettings(copy) as DevSettings;
  if (request.wait !== false) {
    steps.push({
      type: 'wait-dev-pod', label: 'wait for the dev pod to be ready', creator: copyStep !== undefined ? { step: copyStep } : { object: copy },
      request: {
        namespace: ns, workloadLabel, devContainer: settings.devContainer, podCreator: copyRef.name,
        workload: copyText, timeoutMs: request.timeoutMs, since: new Date(Date.parse(state.now) - 60_000),
        ...(settings.persist ? { claimName: devModeNames(copyRef.kind, copyRef.name).claimName } : {}),
      },
    });
  }
  return { steps, copy, copyRef, settings, alreadyInDevMode: state.copy !== undefined && isInDevMode(state.copy), ...(copyStep !== undefined ? { copyStep } : {}) };
}
