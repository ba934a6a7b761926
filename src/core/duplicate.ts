// Duplicate mode: the original workload stays exactly as it is, and a dev copy of it runs beside
// it under a per-user name. The copy follows its kind's row of the kinds table (`duplicate`): its
// kind, the spec fields it keeps, its own selector. Its pods carry only dev mode's labels, so that
// neither the original's controller nor the Services (NetworkPolicies, PodDisruptionBudgets…)
// selecting the original select them; `takeTraffic` keeps the original's pod labels instead.
// The copy is then entered like any workload (core/enter.ts), in place, with no original to keep:
// `end` deletes it. Pure.

import { enterWorkload } from './enter.ts';
import { DevError } from './errors.ts';
import { duplicateKindOf, isPodKind, podTemplateOf, type WorkloadKind } from './kinds.ts';
import { DEV_MODE_LABEL, DUPLICATE_FOR_ANNOTATION, DUPLICATE_OF_ANNOTATION, DUPLICATE_OF_LABEL, TAKES_TRAFFIC_ANNOTATION, WORKLOAD_LABEL } from './marks.ts';
import { duplicateName, workloadLabelValue } from './names.ts';
import { holderTemplateOf, templateHolderRefOf } from './template-holder.ts';
import { clone, ensureObjectAt, getPath, isPlainObject, objectRef, type KubeObject, type PlainObject } from './objects.ts';
import type { DevSettingsInput } from './settings.ts';

export interface DuplicateOptions {
  /** Whom the copy is for, as the API server names them (SelfSubjectReview). */
  user: string;
  /** The copy's pods keep the original's labels: the Services that select the original send them requests too. */
  takeTraffic?: boolean;
  /** ISO time recorded as the start of dev mode. */
  now?: string;
  /** The object the original takes its pod template from (a Rollout's workloadRef), when it names one. */
  templateHolder?: KubeObject;
}

/** The copy of workload `name` of `kind` for a user: its kind and name. */
export function duplicateRef(kind: WorkloadKind, name: string, user: string): { kind: WorkloadKind; name: string } {
  return { kind: duplicateKindOf(kind), name: duplicateName(name, user) };
}

/** True for a dev copy (duplicate mode) in dev mode. */
export function isDuplicate(obj: KubeObject): boolean {
  return obj.metadata?.labels?.[DEV_MODE_LABEL] === 'true' && typeof obj.metadata?.annotations?.[DUPLICATE_OF_ANNOTATION] === 'string';
}

/** `Kind/name` of the original a dev copy copies (undefined for anything else). */
export function duplicateOf(obj: KubeObject): string | undefined {
  const value = obj.metadata?.annotations?.[DUPLICATE_OF_ANNOTATION];
  return typeof value === 'string' ? value : undefined;
}

/** Labels the Job controller adds to a Job's pods; a new Job may not carry them. */
const JOB_CONTROLLER_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];

/** Annotations that say which object a Pod is to kubectl apply, Argo CD and Helm: a Pod's copy is another object. */
const IDENTITY_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'argocd.argoproj.io/tracking-id', 'meta.helm.sh/release-name', 'meta.helm.sh/release-namespace'];

function stringMap(value: unknown): Record<string, string> {
  return isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)])) : {};
}

function deleteAt(root: PlainObject, dotted: string): void {
  const path = dotted.split('.');
  const parent = getPath(root, path.slice(0, -1));
  if (isPlainObject(parent)) delete parent[path[path.length - 1] as string];
}

/** A copy beside the original on the same node cannot have its host ports: the scheduler would never place it. */
function withoutHostPorts(podSpec: PlainObject): void {
  for (const field of ['containers', 'initContainers']) {
    const containers = podSpec[field];
    if (!Array.isArray(containers)) continue;
    for (const container of containers.filter(isPlainObject)) {
      for (const port of Array.isArray(container.ports) ? container.ports.filter(isPlainObject) : []) {
        delete port.hostPort;
        delete port.hostIP;
      }
    }
  }
}

/** Claim templates become emptyDir volumes of the same names (bounded by the claim's storage request). */
function claimsAsEmptyDirs(original: KubeObject, kind: WorkloadKind, podSpec: PlainObject): void {
  const templates = kind.duplicate.claimTemplatesPath ? getPath(original, kind.duplicate.claimTemplatesPath) : undefined;
  if (!Array.isArray(templates)) return;
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes.filter(isPlainObject) : [];
  for (const claim of templates.filter(isPlainObject)) {
    const name = getPath(claim, ['metadata', 'name']);
    if (typeof name !== 'string') continue;
    const size = getPath(claim, ['spec', 'resources', 'requests', 'storage']);
    const volume = { name, emptyDir: size !== undefined ? { sizeLimit: size } : {} };
    const at = volumes.findIndex((v) => v.name === name);
    if (at >= 0) volumes[at] = volume;
    else volumes.push(volume);
  }
  podSpec.volumes = volumes;
}

/**
 * The copy as it is before the dev rewrite: the copy kind's object with the original's pod
 * template (labels as said above), the spec fields its rule keeps, its own selector, and the
 * duplicate marks. Owners are live mode's business.
 */
export function copyOf(original: KubeObject, kind: WorkloadKind, options: DuplicateOptions): KubeObject {
  const copyKind = duplicateKindOf(kind);
  const rule = kind.duplicate;
  const originalName = String(original.metadata?.name ?? '');
  const name = duplicateName(originalName, options.user);
  const holderRef = templateHolderRefOf(original, kind);
  const template = holderRef ? holderTemplateOf(options.templateHolder && clone(options.templateHolder), holderRef, original) : podTemplateOf(clone(original), kind);
  const originalRef = objectRef(original);
  const marks = { [DUPLICATE_OF_LABEL]: workloadLabelValue(kind.kind, originalName) };
  const podLabels: Record<string, string> = options.takeTraffic ? stringMap(template.metadata.labels) : {};
  for (const key of JOB_CONTROLLER_LABELS) delete podLabels[key];
  Object.assign(podLabels, marks, { [WORKLOAD_LABEL]: workloadLabelValue(copyKind.kind, name) });
  const podAnnotations = stringMap(template.metadata.annotations);
  for (const key of IDENTITY_ANNOTATIONS) delete podAnnotations[key];
  const podMetadata: PlainObject = { labels: podLabels, annotations: { ...podAnnotations, [DUPLICATE_OF_ANNOTATION]: originalRef } };
  withoutHostPorts(template.spec);
  claimsAsEmptyDirs(original, kind, template.spec);

  const spec = rule.specPath ? getPath(original, rule.specPath) : undefined;
  const copy: KubeObject = {
    apiVersion: copyKind.group ? `${copyKind.group}/${copyKind.version}` : copyKind.version,
    kind: copyKind.kind,
    metadata: {
      name,
      ...(original.metadata?.namespace !== undefined ? { namespace: original.metadata.namespace } : {}),
      labels: { ...marks },
      annotations: { [DUPLICATE_OF_ANNOTATION]: originalRef, [DUPLICATE_FOR_ANNOTATION]: options.user, ...(options.takeTraffic ? { [TAKES_TRAFFIC_ANNOTATION]: 'true' } : {}) },
    },
    ...(isPlainObject(spec) ? { spec: clone(spec) } : {}),
  };
  const metadataParent = ensureObjectAt(copy as PlainObject, copyKind.podMetadataPath.slice(0, -1));
  const metadataKey = copyKind.podMetadataPath[copyKind.podMetadataPath.length - 1] as string;
  // A Pod's pod metadata is its own: the copy's marks join the pod's labels and annotations.
  const own = isPlainObject(metadataParent[metadataKey]) && copyKind.podMetadataPath.length === 1 ? (metadataParent[metadataKey] as PlainObject) : undefined;
  metadataParent[metadataKey] = own
    ? { ...own, labels: { ...podLabels, ...stringMap(own.labels) }, annotations: { ...stringMap(podMetadata.annotations), ...stringMap(own.annotations) } }
    : podMetadata;
  const specParent = ensureObjectAt(copy as PlainObject, copyKind.podSpecPath.slice(0, -1));
  specParent[copyKind.podSpecPath[copyKind.podSpecPath.length - 1] as string] = template.spec;
  for (const path of rule.drop) deleteAt(copy as PlainObject, path);
  for (const [path, value] of Object.entries(rule.set ?? {})) {
    const steps = path.split('.');
    ensureObjectAt(copy as PlainObject, steps.slice(0, -1))[steps[steps.length - 1] as string] = value;
  }
  if (copyKind.selectorPath) {
    const selectorParent = ensureObjectAt(copy as PlainObject, copyKind.selectorPath.slice(0, -1));
    selectorParent[copyKind.selectorPath[copyKind.selectorPath.length - 1] as string] = { matchLabels: { [WORKLOAD_LABEL]: podLabels[WORKLOAD_LABEL] } };
  }
  return copy;
}

/** The dev copy of a workload, in dev mode (one pod, the dev rewrite of its template). */
export function duplicateWorkload(original: KubeObject, kind: WorkloadKind, input: DevSettingsInput, options: DuplicateOptions): KubeObject {
  if (options.user === '') {
    throw new DevError('INVALID_OPTION', 'the API server did not say who you are, and duplicate mode names the copy after you',
      'use a kubeconfig user the API server authenticates (kubectl auth whoami shows it), or develop in replace mode (without --duplicate).');
  }
  const owners = Array.isArray(original.metadata?.ownerReferences) ? original.metadata.ownerReferences.filter(isPlainObject) : [];
  const controller = owners.find((o) => o.controller === true);
  if (options.takeTraffic && isPodKind(kind) && controller) {
    // An orphan pod with the labels of a controller's pods is adopted by it (a DaemonSet, a bare ReplicaSet), which then deletes one of its own.
    const owner = `${String(controller.kind).toLowerCase()}/${String(controller.name)}`;
    throw new DevError('INVALID_OPTION', `--take-traffic cannot copy pod ${String(original.metadata?.name)}: it is managed by ${owner}, which could adopt a copy with its labels and delete one of its own pods`,
      `duplicate the controller instead (kubectl dev start ${owner} --duplicate --take-traffic), or leave out --take-traffic.`);
  }
  const copy = copyOf(original, kind, options);
  try {
    const [entered] = enterWorkload(copy, duplicateKindOf(kind), input, { ...(options.now !== undefined ? { now: options.now } : {}), duplicateOf: objectRef(original) });
    return entered as KubeObject;
  } catch (error) {
    throw error instanceof DevError ? error.locate({ object: objectRef(original) }) : error;
  }
}
