// enter: objects → the objects that exist once the selected workloads are in dev mode.
// Pure: names, settings and time come in as parameters.

import { DevError } from './errors.ts';
import { generatedKindOf, podTemplateOf, unsupportedWorkloadHint, workloadKindOf, type WorkloadKind } from './kinds.ts';
import {
  ANNOTATIONS_MAX_BYTES, DEV_MODE_LABEL, GENERATED_FOR_ANNOTATION, GENERATED_LABEL, HELM_HOOK_ANNOTATION,
  ORIGINAL_ANNOTATION, PAUSE_NODE_SELECTOR_KEY, PAUSE_NODE_SELECTOR_VALUE, SETTINGS_ANNOTATION, SINCE_ANNOTATION,
  DEV_CONTAINER_ANNOTATION, DUPLICATE_OF_ANNOTATION, ORIGINAL_CONFIGMAP_ANNOTATION, SYNC_SECRET_ANNOTATION, WORKLOAD_LABEL,
} from './marks.ts';
import { generatedName, persistentClaimName, syncSecretName, workloadLabelValue } from './names.ts';
import { clone, ensureObjectAt, getPath, isPlainObject, objectRef, utf8Length, type KubeObject, type PlainObject } from './objects.ts';
import { containerImage, resolveSettings, rewritePodTemplate, selectContainer } from './pod.ts';
import { validateSettings, type DevSettings, type DevSettingsInput } from './settings.ts';
import { originalJson } from './original.ts';
import { holderTemplateOf, holdsTemplateOf, isHolderOf, templateHolderRefOf, templateHolders } from './template-holder.ts';

export interface Target {
  kind: WorkloadKind;
  name: string;
  /** Matches objects in this namespace, or with no namespace set. */
  namespace?: string;
  /** Settings for this workload only (from a dev config file), over the common ones. */
  settings?: DevSettingsInput;
  /** `--force`: take over this workload even when node-critical (see refuseNodeCritical). */
  force?: boolean;
}

export interface EnterOptions {
  /** Workloads to enter; when absent, every workload in the input. */
  targets?: readonly Target[];
  /** Settings for every selected workload. */
  settings?: DevSettingsInput;
  /** `--force`: take over node-critical workloads too (see refuseNodeCritical). */
  force?: boolean;
  /** ISO time recorded as the start of dev mode; absent keeps output deterministic. */
  now?: string;
  /** Other objects of the same input (render passes one workload at a time): consulted for template holders, never output. */
  context?: readonly KubeObject[];
}

export interface DevModeFacts {
  settings: DevSettings;
  secretName: string;
  workloadLabel: string;
  claimName?: string;
}

/** The names dev mode uses for a workload: its Secret, the label value on its dev pod, its persistent claim. */
export function devModeNames(kind: WorkloadKind, name: string): { secretName: string; workloadLabel: string; claimName: string } {
  return { secretName: syncSecretName(kind.kind, name), workloadLabel: workloadLabelValue(kind.kind, name), claimName: persistentClaimName(kind.kind, name) };
}

/** The settings a workload in dev mode was entered with, or undefined when unreadable. */
export function recordedSettings(obj: KubeObject): DevSettings | undefined {
  const text = obj.metadata?.annotations?.[SETTINGS_ANNOTATION];
  if (typeof text !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? (parsed as unknown as DevSettings) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The workload and its generated objects with the dev pod template marked by the sync Secret it
 * is for: a new Secret makes a new template, so that a dev pod that copied another Secret's keys
 * (kept by its controller through a quick end and start) is replaced instead of taken.
 */
export function withSyncSecretMark(objects: readonly [KubeObject, ...KubeObject[]], kind: WorkloadKind, fingerprint: string): [KubeObject, ...KubeObject[]] {
  const [workload, ...generated] = objects.map(clone) as [KubeObject, ...KubeObject[]];
  const [holder, holderKind] = generated[0] ? [generated[0], generatedKindOf(kind)] : [workload, kind];
  const { metadata } = podTemplateOf(holder, holderKind);
  metadata.annotations = { ...(isPlainObject(metadata.annotations) ? metadata.annotations : {}), [SYNC_SECRET_ANNOTATION]: fingerprint };
  return [workload, ...generated];
}

/** The sync Secret mark on a workload's own pod template (live start's, on in-place kinds), if any. */
export function syncSecretMarkOf(obj: KubeObject, kind: WorkloadKind): string | undefined {
  const annotations = podTemplateOf(clone(obj), kind).metadata.annotations;
  const mark = isPlainObject(annotations) ? annotations[SYNC_SECRET_ANNOTATION] : undefined;
  return typeof mark === 'string' ? mark : undefined;
}

/** The workload as dev mode made it from its original, with the sync Secret mark `current` carries (a rewrite again lacks it). */
export function remade(current: KubeObject, original: KubeObject, kind: WorkloadKind, input: DevSettingsInput, options: EnterWorkloadOptions = {}): KubeObject {
  const made = enterWorkload(original, kind, input, { force: true, ...options })[0] as KubeObject;
  const mark = syncSecretMarkOf(current, kind);
  return mark === undefined ? made : withSyncSecretMark([made], kind, mark)[0];
}

/** True when the object has been put in dev mode by kubectl-dev. */
export function isInDevMode(obj: KubeObject): boolean {
  return obj.metadata?.labels?.[DEV_MODE_LABEL] === 'true';
}

/** True for objects dev mode generated (they go away on exit). */
export function isGenerated(obj: KubeObject): boolean {
  return typeof obj.metadata?.labels?.[GENERATED_LABEL] === 'string';
}

/** Priority classes Kubernetes reserves for pods that nodes or the cluster cannot run without. */
const CRITICAL_PRIORITY_CLASSES = ['system-node-critical', 'system-cluster-critical'];

/**
 * Refuses, unless `force`, a takeover that stops the workload's pods on every node when those
 * pods are the node's own (CNI, kube-proxy, CSI): in kube-system, or with a critical priority class.
 */
function refuseNodeCritical(obj: KubeObject, kind: WorkloadKind, force: boolean): void {
  if (force || kind.pause?.by !== 'node-selector') return;
  const namespace = obj.metadata?.namespace;
  const spec = getPath(obj, kind.podSpecPath);
  const priority = isPlainObject(spec) ? spec.priorityClassName : undefined;
  const why = namespace === 'kube-system' ? 'runs in kube-system'
    : typeof priority === 'string' && CRITICAL_PRIORITY_CLASSES.includes(priority) ? `has priorityClassName ${priority}` : undefined;
  if (why === undefined) return;
  throw new DevError('NODE_CRITICAL',
    `${objectRef(obj)} ${why}: dev mode would stop its pod on every node (it pauses a ${kind.kind} and runs one dev pod instead), and nodes may need it to run anything (networking, storage, proxies)`,
    'develop a copy under another name in another namespace, or pass --force if no node depends on it (for example on a disposable cluster).',
    { object: objectRef(obj) });
}

function isHelmHook(obj: KubeObject): boolean {
  return typeof obj.metadata?.annotations?.[HELM_HOOK_ANNOTATION] === 'string';
}

function matches(target: Target, obj: KubeObject, kind: WorkloadKind): boolean {
  if (target.kind !== kind || obj.metadata?.name !== target.name) return false;
  const ns = obj.metadata?.namespace;
  return target.namespace === undefined || ns === undefined || ns === target.namespace;
}

function annotationsSize(annotations: Record<string, string>): number {
  return Object.entries(annotations).reduce((sum, [k, v]) => sum + utf8Length(k) + utf8Length(v), 0);
}

/** Where the saved original goes: the workload's annotation, or (too large) a ConfigMap that live mode writes. */
export type OriginalStore = { in: 'annotation' } | { in: 'configmap'; name: string };

/** Where the saved original is said to be; a dev copy has none (end deletes it) but names what it copies. */
function originalMark(original: string, store: OriginalStore, duplicateOf: string | undefined): Record<string, string> {
  if (duplicateOf !== undefined) return { [DUPLICATE_OF_ANNOTATION]: duplicateOf };
  return store.in === 'annotation' ? { [ORIGINAL_ANNOTATION]: original } : { [ORIGINAL_CONFIGMAP_ANNOTATION]: store.name };
}

/** Puts the dev-mode marks on the workload's own metadata. */
function markWorkload(obj: KubeObject, facts: DevModeFacts, original: string, now: string | undefined, store: OriginalStore, duplicateOf?: string): void {
  const metadata = ensureObjectAt(obj as PlainObject, ['metadata']);
  metadata.labels = { ...(isPlainObject(metadata.labels) ? metadata.labels : {}), [DEV_MODE_LABEL]: 'true' };
  const annotations: Record<string, string> = {
    ...(isPlainObject(metadata.annotations) ? (metadata.annotations as Record<string, string>) : {}),
    ...originalMark(original, store, duplicateOf),
    [SETTINGS_ANNOTATION]: JSON.stringify(facts.settings),
    [DEV_CONTAINER_ANNOTATION]: facts.settings.devContainer,
  };
  if (now !== undefined) annotations[SINCE_ANNOTATION] = now;
  const size = annotationsSize(annotations);
  if (size > ANNOTATIONS_MAX_BYTES) {
    throw new DevError('ORIGINAL_TOO_LARGE',
      `saving the original ${obj.kind} in an annotation would make its annotations ${size} bytes, over the API server's limit of ${ANNOTATIONS_MAX_BYTES}`,
      'shrink large annotations on the workload (for example kubectl.kubernetes.io/last-applied-configuration, by using server-side apply); live mode keeps large originals in a ConfigMap instead.',
      { object: objectRef(obj) });
  }
  metadata.annotations = annotations;
}

function generatedMetadata(source: KubeObject, generated: WorkloadKind, labels: Record<string, string>, workloadLabel: string): PlainObject {
  const name = generatedName(String(source.metadata?.name), generated);
  return {
    name,
    ...(source.metadata?.namespace !== undefined ? { namespace: source.metadata.namespace } : {}),
    labels: { ...labels, [GENERATED_LABEL]: workloadLabel },
    annotations: { [GENERATED_FOR_ANNOTATION]: objectRef(source) },
  };
}

/** Labels the Job controller adds to Jobs and their pods; the API server rejects them on a new Job. */
const JOB_CONTROLLER_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];

function withoutJobControllerLabels(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(labels)) return out;
  for (const [k, v] of Object.entries(labels)) if (!JOB_CONTROLLER_LABELS.includes(k)) out[k] = String(v);
  return out;
}

/** A Job that runs the dev pod once, forever, from a Job spec (of a Job or a CronJob's jobTemplate). */
function generatedJob(source: KubeObject, kind: WorkloadKind, jobSpec: PlainObject, jobLabels: Record<string, string>, template: PlainObject, workloadLabel: string): KubeObject {
  const spec: PlainObject = { ...clone(jobSpec), template, parallelism: 1, completions: 1 };
  // Fields that are generated by the server, or would end or bound a dev session.
  for (const field of ['selector', 'manualSelector', 'suspend', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'successPolicy', 'podFailurePolicy', 'maxFailedIndexes']) {
    delete spec[field];
  }
  const templateMeta = ensureObjectAt(template, ['metadata']);
  templateMeta.labels = withoutJobControllerLabels(templateMeta.labels);
  (templateMeta.labels as Record<string, string>)[WORKLOAD_LABEL] = workloadLabel;
  const generated = generatedKindOf(kind);
  return { ...kind.generates!, metadata: generatedMetadata(source, generated, withoutJobControllerLabels(jobLabels), workloadLabel), spec };
}

/** A Deployment that runs the dev pod in place of a DaemonSet's pods. */
function generatedDeployment(source: KubeObject, kind: WorkloadKind, template: PlainObject, workloadLabel: string): KubeObject {
  return {
    ...kind.generates!,
    metadata: generatedMetadata(source, generatedKindOf(kind), { ...(source.metadata?.labels ?? {}) }, workloadLabel),
    spec: {
      replicas: 1,
      // Only our own label: the Deployment never claims the DaemonSet's pods, and
      // the DaemonSet never adopts the dev pod (it has a controller already).
      selector: { matchLabels: { [WORKLOAD_LABEL]: workloadLabel } },
      strategy: { type: 'Recreate' },
      template,
    },
  };
}

export interface EnterWorkloadOptions {
  /** ISO time recorded as the start of dev mode. */
  now?: string;
  store?: OriginalStore;
  /** `--force` (or a workload already in dev mode): no node-critical guard. */
  force?: boolean;
  /** The object is a dev copy of this workload (`Kind/name`, core/duplicate.ts): rewritten where it stands whatever its kind, with no original kept. */
  duplicateOf?: string;
  /** The object holding the workload's pod template, when the workload names one (a Rollout's workloadRef). */
  templateHolder?: KubeObject;
}

/** Stops the workload's own pods the way its kind allows (see WorkloadKind.pause). */
function pauseWorkload(obj: KubeObject, kind: WorkloadKind): void {
  if (kind.pause?.by === 'fields') {
    for (const { path, value } of kind.pause.fields) ensureObjectAt(obj as PlainObject, path.slice(0, -1))[path[path.length - 1] as string] = value;
    return;
  }
  const podSpec = podTemplateOf(obj, kind).spec;
  podSpec.nodeSelector = { ...(isPlainObject(podSpec.nodeSelector) ? podSpec.nodeSelector : {}), [PAUSE_NODE_SELECTOR_KEY]: PAUSE_NODE_SELECTOR_VALUE };
}

/** The pod template dev mode rewrites: the workload's own (in place, or a copy to lend), or a copy of its holder's. */
function templateToRewrite(obj: KubeObject, kind: WorkloadKind, inPlace: boolean, holder: KubeObject | undefined) {
  if (inPlace) return podTemplateOf(obj, kind);
  const ref = templateHolderRefOf(obj, kind);
  return ref ? holderTemplateOf(holder && clone(holder), ref, obj) : podTemplateOf(clone(obj), kind);
}

/** Enters dev mode for one workload; returns the workload and the objects generated for it. */
export function enterWorkload(source: KubeObject, kind: WorkloadKind, input: DevSettingsInput, options: EnterWorkloadOptions = {}): KubeObject[] {
  const { now, store = { in: 'annotation' } } = options;
  if (kind.strategy === 'recreate' && Array.isArray(source.metadata?.ownerReferences) && source.metadata.ownerReferences.length > 0) {
    const owner = source.metadata.ownerReferences[0];
    const ownerRef = isPlainObject(owner) ? `${String(owner.kind)}/${String(owner.name)}` : 'its owner';
    throw new DevError('OWNED_POD', `pod ${String(source.metadata?.name)} is managed by ${ownerRef}; a replacement pod would be deleted or duplicated by it`,
      `target the owner instead, for example: kubectl dev start ${ownerRef.toLowerCase()}`);
  }
  validateSettings(input);
  const obj = clone(source);
  const name = String(obj.metadata?.name ?? '');
  const original = originalJson(source);
  const strategy = options.duplicateOf !== undefined ? 'in-place' : kind.strategy;
  const inPlace = strategy === 'in-place' || strategy === 'recreate';
  // In-place kinds are rewritten where they stand; the others lend a copy of their template.
  const template = templateToRewrite(obj, kind, inPlace, options.templateHolder);
  const container = selectContainer(template, input.container, obj.metadata?.annotations);
  const settings = resolveSettings(input, container, containerImage(template, container));
  const facts: DevModeFacts = {
    settings,
    secretName: syncSecretName(kind.kind, name),
    workloadLabel: workloadLabelValue(kind.kind, name),
    ...(settings.persist ? { claimName: persistentClaimName(kind.kind, name) } : {}),
  };
  rewritePodTemplate(template, facts);
  // After the pod checks: a refusal no flag lifts comes before one that --force lifts.
  refuseNodeCritical(source, kind, options.force ?? false);
  const templateObject: PlainObject = { metadata: template.metadata, spec: template.spec };

  const out: KubeObject[] = [obj];
  switch (strategy) {
    case 'in-place':
    case 'recreate': {
      if (kind.hasReplicas) ensureObjectAt(obj as PlainObject, ['spec']).replicas = 1;
      break;
    }
    case 'pause-and-deployment': {
      pauseWorkload(obj, kind);
      out.push(generatedDeployment(obj, kind, templateObject, facts.workloadLabel));
      break;
    }
    case 'job': {
      out.push(generatedJob(obj, kind, ensureObjectAt(obj as PlainObject, ['spec']), obj.metadata?.labels ?? {}, templateObject, facts.workloadLabel));
      break;
    }
    case 'suspend-and-job': {
      const jobTemplate = ensureObjectAt(obj as PlainObject, ['spec', 'jobTemplate']);
      out.push(generatedJob(obj, kind, ensureObjectAt(jobTemplate, ['spec']), (isPlainObject(jobTemplate.metadata) ? jobTemplate.metadata.labels : {}) as Record<string, string>, templateObject, facts.workloadLabel));
      // suspend, not a far-away schedule: cron ORs day-of-month and day-of-week, so "1 1 1 1 1" still fires.
      ensureObjectAt(obj as PlainObject, ['spec']).suspend = true;
      break;
    }
  }
  markWorkload(obj, facts, original, now, store, options.duplicateOf);
  return out;
}

interface EnterContext {
  matched: Set<Target>;
  /** Objects that hold another workload's pod template, each with that workload. */
  holders: Map<KubeObject, KubeObject>;
}

/** A template holder passes through (its workload's dev mode reads it); targeting it is refused. */
function passHolder(obj: KubeObject, workload: KubeObject, targeted: boolean): KubeObject[] {
  if (!targeted) return [obj];
  const kind = workloadKindOf(workload);
  throw new DevError('INVALID_OPTION', `${objectRef(obj)} holds the pod template of ${objectRef(workload)}: dev mode on it would change the template the ${String(workload.kind)} rolls out`,
    `target the ${String(workload.kind)} instead, for example: kubectl dev start ${kind?.aliases[0] ?? String(workload.kind).toLowerCase()}/${String(workload.metadata?.name)}`,
    { object: objectRef(obj) });
}

function enterOne(obj: KubeObject, options: EnterOptions, ctx: EnterContext): KubeObject[] {
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    const items = (obj.items as unknown[]).flatMap((item) => (isPlainObject(item) ? enterOne(item as KubeObject, options, ctx) : [item as KubeObject]));
    return [{ ...obj, items }];
  }
  if (isHelmHook(obj) || isInDevMode(obj) || isGenerated(obj)) return [obj];
  const kind = workloadKindOf(obj);
  const target = kind ? options.targets?.find((t) => matches(t, obj, kind)) : undefined;
  if (target) ctx.matched.add(target);
  const selected = options.targets === undefined || target !== undefined;
  if (!kind) {
    const hint = unsupportedWorkloadHint(obj);
    if (hint !== undefined && options.targets === undefined) {
      throw new DevError('UNSUPPORTED_KIND', `${objectRef(obj)} (${String(obj.apiVersion)}) is not a workload kind kubectl-dev supports`, hint, { object: objectRef(obj) });
    }
    return [obj];
  }
  const holderFor = holdsTemplateOf(obj, ctx.holders);
  if (holderFor) return passHolder(obj, holderFor, target !== undefined);
  if (!selected) return [obj];
  try {
    const ref = templateHolderRefOf(obj, kind);
    const templateHolder = ref ? [...ctx.holders.keys()].find((h) => isHolderOf(h, ref, obj)) : undefined;
    return enterWorkload(obj, kind, { ...options.settings, ...target?.settings }, {
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(templateHolder ? { templateHolder } : {}),
      force: (options.force ?? false) || (target?.force ?? false),
    });
  } catch (error) {
    throw error instanceof DevError ? error.locate({ object: objectRef(obj) }) : error;
  }
}

/**
 * Enters dev mode for the selected workloads (all workloads without `targets`).
 * Hooks, non-workloads, objects already in dev mode, generated objects and the objects that
 * hold another workload's pod template (a Rollout's workloadRef) pass through.
 * Generated objects follow the workload they stand in for.
 */
export function enter(objects: readonly KubeObject[], options: EnterOptions = {}): KubeObject[] {
  const ctx: EnterContext = { matched: new Set<Target>(), holders: templateHolders([...objects, ...(options.context ?? [])]) };
  const out: KubeObject[] = [];
  objects.forEach((obj, index) => {
    try {
      out.push(...enterOne(obj, options, ctx));
    } catch (error) {
      throw error instanceof DevError ? error.locate({ document: index }) : error;
    }
  });
  const missing = (options.targets ?? []).filter((t) => !ctx.matched.has(t) && !objects.some((o) => isTargetAlreadyInDevMode(t, o)));
  if (missing.length > 0) {
    const list = missing.map((t) => `${t.kind.kind}/${t.name}`).join(', ');
    throw new DevError('SELECTION_EMPTY', `no object in the input matches ${list}`,
      'check the kind and name (as in kubectl get), and that the input holds that workload.');
  }
  return out;
}

function isTargetAlreadyInDevMode(target: Target, obj: KubeObject): boolean {
  const kind = workloadKindOf(obj);
  return kind !== undefined && isInDevMode(obj) && matches(target, obj, kind);
}
