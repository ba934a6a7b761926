// The plan of `kubectl dev start`, pure: from the workload and what start left or found
// (read by start.ts), the steps that put it in dev mode, in the order that keeps every
// interruption recoverable by `end`:
//   sync Secret → HPA clamps → (large original: ConfigMap) → the workload change (one patch
//   with a resourceVersion precondition; for a Pod: save, delete, recreate) → an OnDelete
//   StatefulSet's pod → generated objects → wait for the dev pod.

import { createHash } from 'node:crypto';
import jsonPatch, { type Operation } from 'fast-json-patch';
import { devModeNames, enterWorkload, isInDevMode, recordedSettings, syncSecretMarkOf, withSyncSecretMark, type OriginalStore } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { generatedKindOf, type WorkloadKind, type WorkloadRef } from '../core/kinds.ts';
import { describeHolder, holderAnnotation, isOtherUser, parseHolder, type Holder } from '../core/holder.ts';
import { DEV_CONFIG_ANNOTATION, DEV_CONFIG_NAME_ANNOTATION, GENERATED_LABEL, GENERATION_ANNOTATION, GITOPS_ANNOTATION, HOLDER_ANNOTATION, ORIGINAL_CONFIGMAP_KEY, SINCE_ANNOTATION } from '../core/marks.ts';
import { originalConfigMapName } from '../core/names.ts';
import type { ClaimOptions } from '../core/persist.ts';
import { restorableState } from '../core/original.ts';
import type { KubeObject } from '../core/objects.ts';
import type { DevSettings, DevSettingsInput } from '../core/settings.ts';
import { gitopsDecision, pausedSyncId, type GitOpsDecision, type GitOpsMode, type GitOpsState } from './gitops.ts';
import { claimSteps } from './claim-steps.ts';
import { clampSteps } from './hpa.ts';
import { displayRef, forCreate, ownerReferenceTo, refOfObject, workloadObjectRef } from './objects.ts';
import { onDeleteRestart, type CreatorSource, type PlanStep } from './plan.ts';

export interface StartRequest {
  ref: WorkloadRef & { namespace: string };
  settings: DevSettingsInput;
  /** Size and StorageClass of the persistent claim, when start creates it. */
  volume?: ClaimOptions;
  timeoutMs: number;
  dryRun?: 'client' | 'server';
  /** Wait for the dev pod to be ready (default true). */
  wait?: boolean;
  /** `--force`: take over a node-critical workload too. */
  force?: boolean;
  /** Duplicate mode (live/duplicate.ts): leave the workload as it is and put a dev copy of it beside it. */
  duplicate?: { takeTraffic?: boolean };
  /** `up`: the dev config the workload is started from, recorded on its sync Secret for `status` and `down`. */
  devConfig?: { name: string; path: string };
  /** `--gitops`: what to do when a GitOps tool manages the workload (default: Flux's switch, refuse Argo CD). */
  gitops?: GitOpsMode;
}

/** Everything start reads before it plans; no field is read again while the plan runs. */
export interface StartState {
  /** ISO time of this start (the clock, read once). */
  now: string;
  workload?: KubeObject;
  /** A Pod's saved original (an interrupted start's ConfigMap). */
  podState?: KubeObject;
  /** A workload already in dev mode: its original, from its annotation or ConfigMap. */
  original?: KubeObject;
  /** The ConfigMap for an original too large for an annotation, when it exists. */
  originalConfigMap?: KubeObject;
  secret: {
    /** The sync Secret made for this start (fresh keys). */
    made: KubeObject;
    /** The one there already (left by an interrupted start, or this workload's dev mode). */
    found?: KubeObject;
    /** `found` as the Secret factory keeps it when it is valid for this work dir. */
    fitting?: KubeObject;
  };
  /** The namespace's HorizontalPodAutoscalers (kinds with replicas). */
  hpas: readonly KubeObject[];
  /** The generated objects that exist already, by name. */
  generated: Readonly<Record<string, KubeObject>>;
  /** Pod 0 of a StatefulSet. */
  firstPod?: KubeObject;
  /** The workload's persistent claim, when it exists (kept from an earlier dev mode). */
  claim?: KubeObject;
  /** The object holding the workload's pod template, when it names one (a Rollout's workloadRef). */
  templateHolder?: KubeObject;
  /** Who runs this start (user from SelfSubjectReview, host from the CLI). */
  me?: Holder;
  /** The GitOps tools that manage the workload (a workload not yet in dev mode). */
  gitops?: GitOpsState;
}

/** What dev mode makes of the workload as read. */
export interface DevMode {
  devWorkload: KubeObject;
  generated: KubeObject[];
  settings: DevSettings;
  store: OriginalStore;
  alreadyInDevMode: boolean;
}

export interface StartPlan {
  steps: PlanStep[];
  mode: DevMode;
  /** The step that changes the workload (its result is the workload in dev mode). */
  workloadStep?: number;
}

const sameSettings = (a: DevSettings | undefined, b: DevSettings | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** Dev mode of the workload: entered now, or (already in dev mode) as it was entered, refused when the settings differ. */
export function devModeOf(workload: KubeObject, original: KubeObject | undefined, request: StartRequest, now: string, templateHolder?: KubeObject): DevMode {
  const { ref } = request;
  const holder = templateHolder ? { templateHolder } : {};
  if (isInDevMode(workload)) {
    // Already in dev mode: the node-critical guard was passed when it started.
    const [wanted, ...generated] = enterWorkload(original ?? workload, ref.kind, request.settings, { force: true, ...holder }) as [KubeObject, ...KubeObject[]];
    const current = recordedSettings(workload);
    if (!sameSettings(current, recordedSettings(wanted))) {
      throw new DevError('ALREADY_IN_DEV_MODE', `${displayRef(ref)} is already in dev mode with other settings (${JSON.stringify(current)})`,
        `run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} first, then start it with the new settings.`);
    }
    return { devWorkload: workload, generated, settings: current as DevSettings, store: { in: 'annotation' }, alreadyInDevMode: true };
  }
  const force = request.force ?? false;
  let store: OriginalStore = { in: 'annotation' };
  let entered: KubeObject[];
  try {
    entered = enterWorkload(workload, ref.kind, request.settings, { now, store, force, ...holder });
  } catch (error) {
    if (!(error instanceof DevError && error.code === 'ORIGINAL_TOO_LARGE') || ref.kind.strategy === 'recreate') throw error;
    store = { in: 'configmap', name: originalConfigMapName(ref.kind.kind, ref.name) };
    entered = enterWorkload(workload, ref.kind, request.settings, { now, store, force, ...holder });
  }
  const [devWorkload, ...generated] = entered as [KubeObject, ...KubeObject[]];
  return { devWorkload, generated, settings: recordedSettings(devWorkload) as DevSettings, store, alreadyInDevMode: false };
}

/** Refuses a start on a workload someone else holds in dev mode (the same user on another host is not someone else). */
export function refuseOtherHolder(workload: KubeObject, me: Holder | undefined, ref: StartRequest['ref']): void {
  const annotations = workload.metadata?.annotations;
  const holder = isInDevMode(workload) ? parseHolder(annotations?.[HOLDER_ANNOTATION]) : undefined;
  if (!holder || !me || !isOtherUser(holder, me)) return;
  const what = displayRef(ref);
  throw new DevError('HELD_BY_OTHER', `${what} is in dev mode by ${describeHolder(holder)}${annotations?.[SINCE_ANNOTATION] ? ` since ${annotations[SINCE_ANNOTATION]}` : ''}; this start changed nothing`,
    `work on your own copy beside it: kubectl dev start ${what} -n ${ref.namespace} --duplicate; or ask ${holder.user} to end it (anyone may run kubectl dev end ${what} -n ${ref.namespace}: it says whose session it ends).`,
    { object: `${ref.kind.kind}/${ref.name}` });
}

/** Owner of what start adds: the workload, except where its lifetime is shorter than dev mode's (a Job's TTL, a Pod's replacement). */
function ownersFor(workload: KubeObject, kind: WorkloadKind): Record<string, unknown>[] {
  return kind.ownsDevObjects ? [ownerReferenceTo(workload)] : [];
}

export function withOwnerAndLabel(obj: KubeObject, owners: Record<string, unknown>[], workloadLabel: string): KubeObject {
  const copy = structuredClone(obj);
  copy.metadata = { ...copy.metadata, labels: { ...(copy.metadata?.labels ?? {}), [GENERATED_LABEL]: workloadLabel } };
  if (owners.length > 0) copy.metadata.ownerReferences = owners;
  return copy;
}

export function withAnnotation(obj: KubeObject, key: string, value: string | undefined): KubeObject {
  if (value === undefined || obj.metadata?.annotations?.[key] === value) return obj;
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [key]: value } } };
}

const configOf = (obj: KubeObject | undefined) => (obj?.data as Record<string, string> | undefined)?.['config.xml'];
/** Names a sync Secret's keys without showing them (the sidecar's config holds its REST API key). */
const fingerprintOf = (secret: KubeObject) => createHash('sha256').update(configOf(secret) ?? '').digest('hex').slice(0, 16);

/**
 * The sync Secret's step, and the since time the workload takes from a Secret that is kept.
 * The Secret says since when the workload is in dev mode (`status` reads it there). One left
 * by an interrupted start is kept when it is valid and for this start's work dir, else
 * replaced by the one made now (a folder path outside the work dir volume would make the
 * sidecar sync, and the initial copy land, where the dev container never sees it). A found
 * Secret is a step of its own: the checkpoint where a first start creates it.
 */
export function secretSteps(state: Pick<StartState, 'secret' | 'me'>, mode: Pick<DevMode, 'devWorkload'>, owners: Record<string, unknown>[], workloadLabel: string, devConfig?: StartRequest['devConfig']): { steps: PlanStep[]; since?: string; fingerprint: string } {
  const since = mode.devWorkload.metadata?.annotations?.[SINCE_ANNOTATION];
  const holder = state.me ? holderAnnotation(state.me) : undefined;
  let made = withAnnotation(withAnnotation(withOwnerAndLabel(state.secret.made, owners, workloadLabel), SINCE_ANNOTATION, since), HOLDER_ANNOTATION, holder);
  if (devConfig) made = withAnnotation(withAnnotation(made, DEV_CONFIG_ANNOTATION, devConfig.path), DEV_CONFIG_NAME_ANNOTATION, devConfig.name);
  const { found, fitting } = state.secret;
  const fingerprint = fingerprintOf(made);
  if (!found) return { steps: [{ type: 'create', label: 'create the sync Secret', object: made, keepExisting: true }], fingerprint };
  const foundStep: PlanStep = { type: 'found', label: 'create the sync Secret', object: found };
  if (configOf(found) === configOf(made) || configOf(fitting) === configOf(found)) {
    const kept = found.metadata?.annotations?.[SINCE_ANNOTATION];
    return { steps: [foundStep], fingerprint: fingerprintOf(found), ...(kept !== undefined ? { since: kept } : {}) };
  }
  const name = String(found.metadata?.name);
  const annotations = { ...(found.metadata?.annotations ?? {}) };
  if (since !== undefined) annotations[SINCE_ANNOTATION] = since;
  else delete annotations[SINCE_ANNOTATION];
  if (holder !== undefined) annotations[HOLDER_ANNOTATION] = holder;
  const operations: Operation[] = [
    { op: 'replace', path: '/data', value: made.data },
    { op: found.metadata?.annotations ? 'replace' : 'add', path: '/metadata/annotations', value: annotations },
  ];
  return {
    fingerprint,
    steps: [foundStep, {
      type: 'patch', label: 'replace the sync Secret', ref: { apiVersion: 'v1', kind: 'Secret', name, namespace: String(found.metadata?.namespace ?? made.metadata?.namespace) },
      operations, precondition: { resourceVersion: found.metadata?.resourceVersion }, from: found,
      noteBefore: `the sync Secret ${name} left by an earlier start was for another work dir: replaced`,
    }],
  };
}

/**
 * The workload in dev mode as the patch makes it: with the since time kept, who holds it, what
 * GitOps found (and Flux's switches: end puts the original's values back), and the generation
 * the patch will give it.
 */
function finalDevWorkload(workload: KubeObject, mode: DevMode, kind: WorkloadKind, marks: { since: string | undefined; me: Holder | undefined; gitops: GitOpsDecision }): KubeObject {
  let dev = withAnnotation(mode.devWorkload, SINCE_ANNOTATION, marks.since);
  if (marks.me) dev = withAnnotation(dev, HOLDER_ANNOTATION, holderAnnotation(marks.me));
  if (marks.gitops.record) dev = withAnnotation(dev, GITOPS_ANNOTATION, JSON.stringify(marks.gitops.record));
  for (const [key, value] of Object.entries(marks.gitops.switches)) dev = withAnnotation(dev, key, value);
  if (kind.strategy === 'recreate') return dev;
  // The API server raises generation by one for a spec change: recorded in the same patch, it lets `end` notice later edits.
  const generation = Number(workload.metadata?.generation ?? 0) + (jsonPatch.compare(workload, dev).some((op) => op.path.startsWith('/spec')) ? 1 : 0);
  dev = withAnnotation(dev, GENERATION_ANNOTATION, String(generation));
  return dev;
}

/** The Pod's original in its state ConfigMap: what end recreates when the Pod is gone. */
function savePodStep(original: KubeObject, name: string, namespace: string, workloadLabel: string): PlanStep {
  return {
    type: 'create', label: 'save the original Pod in a ConfigMap', keepExisting: true,
    object: {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: originalConfigMapName('Pod', name), namespace, labels: { [GENERATED_LABEL]: workloadLabel } },
      data: { [ORIGINAL_CONFIGMAP_KEY]: JSON.stringify(forCreate(original)) },
    },
  };
}

/** A Pod cannot change its containers: save it, delete it, create the dev pod under the same name. */
function replacePodSteps(state: StartState, dev: KubeObject, request: StartRequest, workloadLabel: string): PlanStep[] {
  const workload = state.workload!;
  const ns = request.ref.namespace;
  const wref = workloadObjectRef(request.ref);
  const uid = String(workload.metadata?.uid);
  const steps: PlanStep[] = [];
  if (!state.podState) steps.push(savePodStep(workload, request.ref.name, ns, workloadLabel));
  steps.push(
    { type: 'delete', label: 'delete the original Pod', ref: wref, options: { uid } },
    { type: 'wait-gone', label: 'wait until the original Pod is gone', ref: wref, uid, timeoutMs: request.timeoutMs },
    { type: 'create', label: 'create the dev Pod', object: forCreate(dev) },
  );
  return steps;
}

/** The one patch that puts the workload in dev mode, refused if someone else changed it since it was read (a status change is retried). */
function patchStep(workload: KubeObject, dev: KubeObject, request: StartRequest): PlanStep {
  const { ref } = request;
  return {
    type: 'patch', label: 'patch the workload', ref: workloadObjectRef(ref), operations: jsonPatch.compare(workload, dev), from: workload,
    precondition: {
      resourceVersion: workload.metadata?.resourceVersion,
      retry: {
        state: JSON.stringify(restorableState(workload)), attempts: 5,
        conflict: {
          message: `${displayRef(ref)} changed while kubectl-dev was putting it in dev mode (another start or an edit); this start changed nothing on it`,
          hint: `see what it is now with kubectl dev status ${displayRef(ref)} -n ${ref.namespace}; run kubectl dev start again if it is not in dev mode.`,
        },
      },
    },
  };
}

function missingWorkload(state: StartState, request: StartRequest): DevError {
  const { ref } = request;
  if (ref.kind.strategy === 'recreate' && state.podState) {
    return new DevError('CORRUPT_DEV_STATE', `pod ${ref.name} is being replaced by an interrupted start (its original is saved in ConfigMap ${state.podState.metadata?.name})`,
      `run kubectl dev end pod/${ref.name} -n ${ref.namespace} to restore it, then start again.`);
  }
  return new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`,
    `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
}

/** The workload's change, after the Argo CD Application's pause when there is one (so that no sync reverts it meanwhile). */
function workloadSteps(state: StartState, mode: DevMode, request: StartRequest, since: string | undefined, workloadLabel: string): { steps: PlanStep[]; dev: KubeObject } {
  const workload = state.workload!;
  if (mode.alreadyInDevMode) return { steps: [], dev: workload };
  const gitops = gitopsDecision(state.gitops ?? { managers: [] }, { ref: request.ref, mode: request.gitops, workloadId: pausedSyncId(request.ref.namespace, workloadLabel) });
  const dev = finalDevWorkload(workload, mode, request.ref.kind, { since, me: state.me, gitops });
  const steps = [...(gitops.pause ? [gitops.pause] : []), ...(request.ref.kind.strategy === 'recreate' ? replacePodSteps(state, dev, request, workloadLabel) : [patchStep(workload, dev, request)])];
  steps[0]!.phase = { start: `putting ${displayRef(request.ref)} in dev mode`, done: `${displayRef(request.ref)} is in dev mode` };
  if (gitops.notes.length > 0) steps[0]!.noteBefore = gitops.notes.join('\n  ');
  return { steps, dev };
}

const REMARK_NOTE = 'the sync Secret was made again: the dev pod is replaced, to start with its keys';

/**
 * Already in dev mode, with another sync Secret than its dev pod template names (made again by
 * this start or by sync): the template takes the new Secret's mark, so that the pod is replaced by one
 * that has the new keys; a Pod (its own template) is deleted and created again with the mark. The
 * last step makes the dev pod.
 */
function remarkSteps(state: StartState, mode: DevMode, request: StartRequest, fingerprint: string): PlanStep[] {
  const { ref } = request;
  if (!mode.alreadyInDevMode) return [];
  // The object that makes the dev pod: the generated one, or the workload itself.
  const holder = mode.generated[0] ? state.generated[String(mode.generated[0].metadata?.name)] : state.workload;
  if (!holder) return [];
  const holderKind = mode.generated[0] ? generatedKindOf(ref.kind) : ref.kind;
  // Unmarked (entered before marks were written): replaced only when the Secret is made now.
  const mark = syncSecretMarkOf(holder, holderKind);
  const stale = mark !== undefined ? mark !== fingerprint : !state.secret.found || fingerprintOf(state.secret.found) !== fingerprint;
  if (!stale) return [];
  let marked = withSyncSecretMark([holder], holderKind, fingerprint)[0];
  if (ref.kind.strategy === 'recreate') return recreatePodSteps(state, marked, request);
  // The workload's recorded generation follows its spec change, or end would take it for an edit.
  if (holder === state.workload) marked = withAnnotation(marked, GENERATION_ANNOTATION, String(Number(holder.metadata?.generation ?? 0) + 1));
  const operations = jsonPatch.compare(holder, marked);
  if (operations.length === 0) return [];
  return [{
    type: 'patch', label: 'give the dev pod the new sync Secret', ref: refOfObject(holder, ref.namespace), operations, from: holder,
    precondition: { resourceVersion: holder.metadata?.resourceVersion }, noteBefore: REMARK_NOTE,
  }];
}

/** The dev Pod made again with the new mark; its original saved first in the state ConfigMap (end restores from it if this start is cut short). */
function recreatePodSteps(state: StartState, marked: KubeObject, request: StartRequest): PlanStep[] {
  const pod = state.workload!;
  const wref = workloadObjectRef(request.ref);
  const uid = String(pod.metadata?.uid);
  const { workloadLabel } = devModeNames(request.ref.kind, request.ref.name);
  const save = state.podState || !state.original ? [] : [savePodStep(state.original, request.ref.name, request.ref.namespace, workloadLabel)];
  const steps: PlanStep[] = [
    ...save,
    { type: 'delete', label: 'delete the dev Pod', ref: wref, options: { uid } },
    { type: 'wait-gone', label: 'wait until the dev Pod is gone', ref: wref, uid, timeoutMs: request.timeoutMs },
    { type: 'create', label: 'create the dev Pod with the new sync Secret', object: forCreate(marked) },
  ];
  steps[0]!.noteBefore = REMARK_NOTE;
  return steps;
}

/** Dev mode with its pod template marked by the sync Secret the plan leaves in place. */
function markedMode(mode: DevMode, kind: WorkloadKind, fingerprint: string): DevMode {
  const [devWorkload, ...generated] = withSyncSecretMark([mode.devWorkload, ...mode.generated], kind, fingerprint);
  return { ...mode, devWorkload, generated };
}

export function planStart(state: StartState, request: StartRequest): StartPlan {
  const { ref } = request;
  const ns = ref.namespace;
  const workload = state.workload;
  if (!workload) throw missingWorkload(state, request);
  const { workloadLabel } = devModeNames(ref.kind, ref.name);
  refuseOtherHolder(workload, state.me, ref);
  const entered = devModeOf(workload, state.original, request, state.now, state.templateHolder);
  const owners = ownersFor(workload, ref.kind);
  const secret = secretSteps(state, entered, owners, workloadLabel, request.devConfig);
  const mode = entered.alreadyInDevMode ? entered : markedMode(entered, ref.kind, secret.fingerprint);
  const steps: PlanStep[] = [...secret.steps, ...(ref.kind.hasReplicas ? clampSteps(state.hpas, ref, workloadLabel) : [])];
  if (mode.store.in === 'configmap' && !state.originalConfigMap) {
    const configMap: KubeObject = {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: mode.store.name, namespace: ns },
      data: { [ORIGINAL_CONFIGMAP_KEY]: JSON.stringify(restorableState(workload)) },
    };
    steps.push({ type: 'create', label: 'save the original in a ConfigMap', object: withOwnerAndLabel(configMap, owners, workloadLabel), keepExisting: true });
  }
  if (steps[0]) steps[0].phase = { start: 'preparing the sync Secret' };
  steps.push(...claimSteps(state.claim, mode.settings, ref, ns, request.volume ?? {}));
  const changed = workloadSteps(state, mode, request, secret.since, workloadLabel);
  steps.push(...changed.steps);
  const workloadStep = changed.steps.length > 0 ? steps.length - 1 : undefined;
  if (ref.kind.onDeleteUpdates) steps.push(...onDeleteRestart(changed.dev, state.firstPod, ns, request.timeoutMs));
  let creator: CreatorSource = workloadStep !== undefined ? { step: workloadStep } : { object: changed.dev };
  mode.generated.forEach((generated, i) => {
    const name = String(generated.metadata?.name);
    const existing = state.generated[name];
    if (!existing) steps.push({ type: 'create', label: `create ${generated.kind} ${name}`, object: withOwnerAndLabel(generated, owners, workloadLabel), keepExisting: true });
    // The dev pod is the one of this dev mode: made by the generated object (or the workload) from its template now.
    if (i === 0) creator = existing ? { object: existing } : { step: steps.length - 1 };
  });
  const remark = remarkSteps(state, mode, request, secret.fingerprint);
  if (remark.length > 0) {
    steps.push(...remark);
    creator = { step: steps.length - 1 };
  }
  if (request.wait !== false) {
    steps.push({
      type: 'wait-dev-pod', label: 'wait for the dev pod to be ready', creator,
      request: {
        namespace: ns, workloadLabel, devContainer: mode.settings.devContainer, podCreator: String(mode.generated[0]?.metadata?.name ?? ref.name),
        workload: displayRef(ref), timeoutMs: request.timeoutMs, since: new Date(Date.parse(state.now) - 60_000),
        ...(mode.settings.persist ? { claimName: devModeNames(ref.kind, ref.name).claimName } : {}),
      },
    });
  }
  return { steps, mode: { ...mode, devWorkload: changed.dev }, ...(workloadStep !== undefined ? { workloadStep } : {}) };
}
