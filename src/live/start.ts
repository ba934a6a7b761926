// `kubectl dev start` on a live cluster. Every step converges, so that a start killed at any
// point leaves a state from which `end` restores the original and a new start completes:
//   Secret → (large original: ConfigMap) → HPA clamps → the workload change (one patch with a
//   resourceVersion precondition; for a Pod: save, delete, recreate) → generated objects → wait.

import { compare, type Operation } from 'fast-json-patch';
import { devModeNames, enterWorkload, isInDevMode, recordedSettings, type OriginalStore } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import type { WorkloadKind, WorkloadRef } from '../core/kinds.ts';
import { GENERATED_LABEL, GENERATION_ANNOTATION, ORIGINAL_CONFIGMAP_KEY, SINCE_ANNOTATION } from '../core/marks.ts';
import { originalConfigMapName } from '../core/names.ts';
import { restorableState } from '../core/original.ts';
import type { KubeObject } from '../core/objects.ts';
import { DEFAULT_WORKDIR, type DevSettings, type DevSettingsInput } from '../core/settings.ts';
import type { ObjectRef } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';
import { clampHpas } from './hpa.ts';
import { apiVersionOf, displayRef, forCreate, ownerReferenceTo, refOfObject, workloadObjectRef } from './objects.ts';
import { originalOf } from './original.ts';
import { waitForDevPod } from './wait.ts';
import { requirePermissions } from './permissions.ts';
import { restartOnDeletePods, waitUntilGone } from './pods.ts';

export interface StartRequest {
  ref: WorkloadRef & { namespace: string };
  settings: DevSettingsInput;
  timeoutMs: number;
  dryRun?: 'client' | 'server';
  /** Wait for the dev pod to be ready (default true). */
  wait?: boolean;
  /** `--force`: take over a node-critical workload too. */
  force?: boolean;
}

export interface Change {
  action: 'create' | 'patch' | 'delete';
  ref: ObjectRef;
  operations?: Operation[];
  object?: KubeObject;
}

export interface StartResult {
  workload: KubeObject;
  settings: DevSettings;
  secretName: string;
  workloadLabel: string;
  /** True when the workload was already in dev mode with the same settings. */
  alreadyInDevMode: boolean;
  devPod?: KubeObject;
  /** With --dry-run: what would change. */
  changes: Change[];
}

function notFound(request: StartRequest): DevError {
  return new DevError('NOT_FOUND', `${displayRef(request.ref)} not found in namespace ${request.ref.namespace}`,
    `check the name and namespace: kubectl get ${request.ref.kind.resource} -n ${request.ref.namespace}`);
}

/** Owner of what start adds: the workload, except where its lifetime is shorter than dev mode's (a Job's TTL, a Pod's replacement). */
function ownerFor(workload: KubeObject, kind: WorkloadKind): Record<string, unknown>[] {
  return kind.ownsDevObjects ? [ownerReferenceTo(workload)] : [];
}

function withOwnerAndLabel(obj: KubeObject, owners: Record<string, unknown>[], workloadLabel: string): KubeObject {
  const copy = structuredClone(obj);
  copy.metadata = { ...copy.metadata, labels: { ...(copy.metadata?.labels ?? {}), [GENERATED_LABEL]: workloadLabel } };
  if (owners.length > 0) copy.metadata.ownerReferences = owners;
  return copy;
}

/** Creates an object unless it exists; a concurrent creation is fine. */
async function ensureCreated(obj: KubeObject, namespace: string, deps: LiveDeps, step: string, checkFirst = true): Promise<KubeObject> {
  const ref = refOfObject(obj, namespace);
  const existing = checkFirst ? await deps.api.get(ref) : undefined;
  if (existing) return existing;
  deps.checkpoint(step);
  try {
    return await deps.api.create(obj);
  } catch (error) {
    if (error instanceof DevError && error.code === 'CONFLICT') {
      const raced = await deps.api.get(ref);
      if (raced) return raced;
    }
    throw error;
  }
}

function sameSettings(a: DevSettings | undefined, b: DevSettings | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Plan {
  workload: KubeObject;
  devWorkload: KubeObject;
  generated: KubeObject[];
  settings: DevSettings;
  store: OriginalStore;
  alreadyInDevMode: boolean;
  patch: Operation[];
}

async function plan(request: StartRequest, deps: LiveDeps): Promise<Plan> {
  const { ref } = request;
  const workload = await deps.api.get(workloadObjectRef(ref));
  if (!workload) {
    if (ref.kind.strategy === 'recreate') {
      const state = await deps.api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: originalConfigMapName('Pod', ref.name), namespace: ref.namespace });
      if (state) {
        throw new DevError('CORRUPT_DEV_STATE', `pod ${ref.name} is being replaced by an interrupted start (its original is saved in ConfigMap ${state.metadata?.name})`,
          `run kubectl dev end pod/${ref.name} -n ${ref.namespace} to restore it, then start again.`);
      }
    }
    throw notFound(request);
  }
  const now = deps.clock.now().toISOString();
  if (isInDevMode(workload)) {
    const original = await originalOf(workload, ref.namespace, deps.api);
    // Already in dev mode: the node-critical guard was passed when it started.
    const [wanted, ...generated] = enterWorkload(original, ref.kind, request.settings, { force: true });
    const current = recordedSettings(workload);
    const wantedSettings = recordedSettings(wanted as KubeObject);
    if (!sameSettings(current, wantedSettings)) {
      throw new DevError('ALREADY_IN_DEV_MODE', `${displayRef(ref)} is already in dev mode with other settings (${JSON.stringify(current)})`,
        `run kubectl dev end ${displayRef(ref)} -n ${ref.namespace} first, then start it with the new settings.`);
    }
    return { workload, devWorkload: workload, generated, settings: current as DevSettings, store: { in: 'annotation' }, alreadyInDevMode: true, patch: [] };
  }
  let store: OriginalStore = { in: 'annotation' };
  let entered: KubeObject[];
  try {
    entered = enterWorkload(workload, ref.kind, request.settings, { now, store, force: request.force ?? false });
  } catch (error) {
    if (!(error instanceof DevError && error.code === 'ORIGINAL_TOO_LARGE') || ref.kind.strategy === 'recreate') throw error;
    store = { in: 'configmap', name: originalConfigMapName(ref.kind.kind, ref.name) };
    entered = enterWorkload(workload, ref.kind, request.settings, { now, store, force: request.force ?? false });
  }
  const [devWorkload, ...generated] = entered as [KubeObject, ...KubeObject[]];
  let patch = compare(workload, devWorkload);
  if (ref.kind.strategy !== 'recreate') {
    // The API server raises generation by one for a spec change: recorded in the same patch, it lets `end` notice later edits.
    const generation = Number(workload.metadata?.generation ?? 0) + (patch.some((op) => op.path.startsWith('/spec')) ? 1 : 0);
    devWorkload.metadata = { ...devWorkload.metadata, annotations: { ...devWorkload.metadata?.annotations, [GENERATION_ANNOTATION]: String(generation) } };
    patch = compare(workload, devWorkload);
  }
  const settings = recordedSettings(devWorkload) as DevSettings;
  return { workload, devWorkload, generated, settings, store, alreadyInDevMode: false, patch };
}

/** Puts this time in the planned workload's since annotation (the sync Secret's, when one was kept). */
function adoptSince(p: Plan, since: string): void {
  if (p.alreadyInDevMode || p.devWorkload.metadata?.annotations?.[SINCE_ANNOTATION] === since) return;
  p.devWorkload.metadata = { ...p.devWorkload.metadata, annotations: { ...p.devWorkload.metadata?.annotations, [SINCE_ANNOTATION]: since } };
  p.patch = compare(p.workload, p.devWorkload);
}

function preconditioned(workload: KubeObject, operations: Operation[]): Operation[] {
  // Sending the resourceVersion we read makes the API server refuse (409) if the object changed since.
  return [{ op: 'replace', path: '/metadata/resourceVersion', value: workload.metadata?.resourceVersion }, ...operations];
}

async function dryRun(request: StartRequest, p: Plan, secretName: string, deps: LiveDeps): Promise<Change[]> {
  const ns = request.ref.namespace;
  const wref = workloadObjectRef(request.ref);
  const changes: Change[] = [];
  if (p.alreadyInDevMode) return changes;
  if (!(await deps.api.get({ apiVersion: 'v1', kind: 'Secret', name: secretName, namespace: ns }))) {
    changes.push({ action: 'create', ref: { apiVersion: 'v1', kind: 'Secret', name: secretName, namespace: ns } });
  }
  if (request.ref.kind.strategy === 'recreate') {
    changes.push({ action: 'delete', ref: wref }, { action: 'create', ref: wref, object: forCreate(p.devWorkload) });
  } else if (request.dryRun === 'server') {
    const result = await deps.api.patch(wref, preconditioned(p.workload, p.patch), { dryRun: true });
    changes.push({ action: 'patch', ref: wref, operations: compare(p.workload, result).filter((op) => !op.path.startsWith('/metadata/managedFields')) });
  } else {
    changes.push({ action: 'patch', ref: wref, operations: p.patch });
  }
  for (const g of p.generated) {
    const object = request.dryRun === 'server' ? await deps.api.create(g, { dryRun: true }) : g;
    changes.push({ action: 'create', ref: refOfObject(g, ns), object });
  }
  return changes;
}

export async function startLive(request: StartRequest, deps: LiveDeps): Promise<StartResult> {
  const { ref } = request;
  const ns = ref.namespace;
  deps.progress.start(`reading ${displayRef(ref)}`);
  const { secretName, workloadLabel } = devModeNames(ref.kind, ref.name);
  // The sync Secret's keys are made (CPU) while the workload is read (network); used when the
  // plan's work dir turns out to be the one guessed here.
  const guessedWorkdir = request.settings.workdir ?? DEFAULT_WORKDIR;
  const early = request.dryRun ? undefined : deps.syncSecret({ workload: { apiVersion: apiVersionOf(ref.kind), kind: ref.kind.kind, metadata: { name: ref.name, namespace: ns } }, secretName, namespace: ns, workdir: guessedWorkdir });
  early?.catch(() => {});
  const [p] = await Promise.all([plan(request, deps), request.dryRun === 'client' ? undefined : requirePermissions(ref.kind, ns, `put ${displayRef(ref)} in dev mode`, deps)]);
  const result: StartResult = { workload: p.devWorkload, settings: p.settings, secretName, workloadLabel, alreadyInDevMode: p.alreadyInDevMode, changes: [] };
  if (request.dryRun) {
    result.changes = await dryRun(request, p, secretName, deps);
    deps.progress.succeed();
    return result;
  }
  deps.progress.succeed(p.alreadyInDevMode ? `${displayRef(ref)} is already in dev mode with these settings` : undefined);
  const owners = ownerFor(p.workload, ref.kind);

  deps.progress.start('preparing the sync Secret');
  // Keys are cheap (ECDSA): make them and create the Secret; one left by an interrupted start is kept.
  // HPAs are clamped meanwhile: both must happen before the workload changes, in either order.
  const clamping = ref.kind.hasReplicas ? clampHpas(ref, workloadLabel, deps) : Promise.resolve();
  const prepared = early && !p.alreadyInDevMode && p.settings.workdir === guessedWorkdir ? await early.catch(() => undefined) : undefined;
  const secret = withOwnerAndLabel(prepared ?? await deps.syncSecret({ workload: p.devWorkload, secretName, namespace: ns, workdir: p.settings.workdir }), owners, workloadLabel);
  // The Secret also says since when the workload is in dev mode: `status` reads it from there
  // (with the dev pod) instead of reading every workload.
  const since = p.devWorkload.metadata?.annotations?.[SINCE_ANNOTATION];
  if (since !== undefined) secret.metadata = { ...secret.metadata, annotations: { ...secret.metadata?.annotations, [SINCE_ANNOTATION]: since } };
  const [found] = await Promise.all([ensureCreated(secret, ns, deps, 'create the sync Secret', false), clamping]);
  const created = await keptSecretFits(found, secret, p, deps);
  // A Secret left by an interrupted start is kept: the workload gets its time, so that both agree.
  const kept = created.metadata?.annotations?.[SINCE_ANNOTATION];
  if (kept !== undefined) adoptSince(p, kept);
  deps.progress.succeed();

  if (p.store.in === 'configmap') {
    const configMap: KubeObject = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: p.store.name, namespace: ns },
      data: { [ORIGINAL_CONFIGMAP_KEY]: JSON.stringify(restorableState(p.workload)) },
    };
    await ensureCreated(withOwnerAndLabel(configMap, owners, workloadLabel), ns, deps, 'save the original in a ConfigMap');
  }

  if (!p.alreadyInDevMode) {
    deps.progress.start(`putting ${displayRef(ref)} in dev mode`);
    if (ref.kind.strategy === 'recreate') {
      result.workload = await replacePod(request, p, workloadLabel, deps);
    } else {
      result.workload = await patchWithPrecondition(request, p, deps);
    }
    deps.progress.succeed(`${displayRef(ref)} is in dev mode`);
  }
  if (ref.kind.onDeleteUpdates) await restartOnDeletePods(result.workload, ns, deps, true);

  const made: KubeObject[] = [];
  for (const generated of p.generated) {
    made.push(await ensureCreated(withOwnerAndLabel(generated, owners, workloadLabel), ns, deps, `create ${generated.kind} ${generated.metadata?.name}`));
  }

  if (request.wait !== false) {
    const podCreator = p.generated[0]?.metadata?.name ?? ref.name;
    // The dev pod is the one of this dev mode: made by the generated object (or the workload) from its template now.
    const creator = made[0] ?? result.workload;
    result.devPod = await waitForDevPod({ namespace: ns, workloadLabel, devContainer: p.settings.devContainer, podCreator, creator, workload: displayRef(ref), timeoutMs: request.timeoutMs, since: new Date(deps.clock.now().getTime() - 60_000) }, deps);
  }
  return result;
}

/**
 * The sync Secret found in place of the one just made (left by an interrupted start): kept
 * when it is valid and for this start's work dir (its folder path), else replaced by the one
 * made now, with this start's time (a folder path outside the work dir volume would make the
 * sidecar sync, and the initial copy land, where the dev container never sees it).
 */
async function keptSecretFits(found: KubeObject, made: KubeObject, p: Plan, deps: LiveDeps): Promise<KubeObject> {
  const config = (obj: KubeObject) => (obj.data as Record<string, string> | undefined)?.['config.xml'];
  if (config(found) === config(made)) return found;
  const ns = String(found.metadata?.namespace ?? made.metadata?.namespace);
  const name = String(found.metadata?.name);
  const fitting = await deps.syncSecret({ workload: p.devWorkload, secretName: name, namespace: ns, workdir: p.settings.workdir, existing: found });
  if (config(fitting) === config(found)) return found;
  deps.progress.note(`the sync Secret ${name} left by an earlier start was for another work dir: replaced`);
  deps.checkpoint('replace the sync Secret');
  const annotations = { ...(found.metadata?.annotations ?? {}) };
  const since = made.metadata?.annotations?.[SINCE_ANNOTATION];
  if (since !== undefined) annotations[SINCE_ANNOTATION] = since;
  else delete annotations[SINCE_ANNOTATION];
  return deps.api.patch({ apiVersion: 'v1', kind: 'Secret', name, namespace: ns }, [
    { op: 'replace', path: '/metadata/resourceVersion', value: found.metadata?.resourceVersion },
    { op: 'replace', path: '/data', value: made.data },
    { op: found.metadata?.annotations ? 'replace' : 'add', path: '/metadata/annotations', value: annotations },
  ]);
}

/**
 * The one patch that puts the workload in dev mode, refused by the API server if the object
 * changed since it was read. Controllers bump resourceVersion with status updates all the
 * time: when only that happened (labels, annotations and spec as read), plan again from the
 * fresh object. Any other change is someone else's (an edit, another start): a clear error.
 */
async function patchWithPrecondition(request: StartRequest, first: Plan, deps: LiveDeps): Promise<KubeObject> {
  const { ref } = request;
  let p = first;
  for (let attempt = 1; ; attempt++) {
    deps.checkpoint('patch the workload');
    try {
      return await deps.api.patch(workloadObjectRef(ref), preconditioned(p.workload, p.patch));
    } catch (error) {
      if (!(error instanceof DevError && error.code === 'CONFLICT')) throw error;
      const fresh = await deps.api.get(workloadObjectRef(ref));
      const onlyStatus = fresh !== undefined && JSON.stringify(restorableState(fresh)) === JSON.stringify(restorableState(p.workload));
      if (!onlyStatus || attempt >= 5) {
        throw new DevError('CONFLICT', `${displayRef(ref)} changed while kubectl-dev was putting it in dev mode (another start or an edit); this start changed nothing on it`,
          `see what it is now with kubectl dev status ${displayRef(ref)} -n ${ref.namespace}; run kubectl dev start again if it is not in dev mode.`);
      }
      const since = p.devWorkload.metadata?.annotations?.[SINCE_ANNOTATION];
      p = await plan(request, deps);
      if (p.alreadyInDevMode) return p.workload;
      if (since !== undefined) adoptSince(p, since);
    }
  }
}

/** A Pod cannot change its containers: save it, delete it, create the dev pod under the same name. */
async function replacePod(request: StartRequest, p: Plan, workloadLabel: string, deps: LiveDeps): Promise<KubeObject> {
  const ns = request.ref.namespace;
  const state: KubeObject = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: originalConfigMapName('Pod', request.ref.name), namespace: ns, labels: { [GENERATED_LABEL]: workloadLabel } },
    data: { [ORIGINAL_CONFIGMAP_KEY]: JSON.stringify(forCreate(p.workload)) },
  };
  await ensureCreated(state, ns, deps, 'save the original Pod in a ConfigMap');
  const wref = workloadObjectRef(request.ref);
  deps.checkpoint('delete the original Pod');
  await deps.api.delete(wref, { uid: String(p.workload.metadata?.uid) });
  await waitUntilGone(wref, String(p.workload.metadata?.uid), request.timeoutMs, deps);
  deps.checkpoint('create the dev Pod');
  return deps.api.create(forCreate(p.devWorkload));
}
