// A workload whose pod template lives in another object (an Argo Rollout's spec.workloadRef
// names a Deployment, ReplicaSet or PodTemplate): which object that is, where its template is,
// and which objects of an input hold templates for others. Pure; the kinds come from kinds.ts.

import { DevError } from './errors.ts';
import { podTemplateOf, workloadKindOf, type PodTemplateParts, type TemplateHolderKind, type WorkloadKind } from './kinds.ts';
import { getPath, isPlainObject, objectRef, type KubeObject } from './objects.ts';

/** The object a workload takes its pod template from, as the workload names it. */
export interface TemplateHolderRef {
  apiVersion: string;
  kind: string;
  name: string;
  holder: TemplateHolderKind;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The holder a workload names (undefined when it has a template of its own). */
export function templateHolderRefOf(obj: KubeObject, kind: WorkloadKind): TemplateHolderRef | undefined {
  if (!kind.templateRef) return undefined;
  const field = kind.templateRef.path.join('.');
  const ref = getPath(obj, kind.templateRef.path);
  if (ref === undefined || ref === null) return undefined;
  if (!isPlainObject(ref) || typeof ref.name !== 'string' || typeof ref.kind !== 'string' || typeof ref.apiVersion !== 'string') {
    throw new DevError('INVALID_INPUT', `${objectRef(obj)} has a ${field} without apiVersion, kind and name`,
      `name the object that holds the pod template, for example ${field}: {apiVersion: apps/v1, kind: Deployment, name: web}.`, { path: field });
  }
  const holder = kind.templateRef.holders.find((h) => h.kind === ref.kind && h.group === groupOf(ref.apiVersion as string));
  if (!holder) {
    throw new DevError('UNSUPPORTED_KIND', `${objectRef(obj)} takes its pod template from ${ref.apiVersion} ${ref.kind} ${ref.name} (${field}), a kind that holds none`,
      `point ${field} at one of: ${kind.templateRef.holders.map((h) => h.kind).join(', ')}.`, { path: field });
  }
  return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, holder };
}

const sameNamespace = (a: KubeObject, b: KubeObject) =>
  a.metadata?.namespace === undefined || b.metadata?.namespace === undefined || a.metadata.namespace === b.metadata.namespace;

/** True when `candidate` is the object `ref` names for `workload`. */
export function isHolderOf(candidate: KubeObject, ref: TemplateHolderRef, workload: KubeObject): boolean {
  return candidate.kind === ref.kind && typeof candidate.apiVersion === 'string' && groupOf(candidate.apiVersion) === ref.holder.group
    && candidate.metadata?.name === ref.name && sameNamespace(candidate, workload);
}

/** The holder's pod template (live references into `holder`); an error when it is not the object named or has none. */
export function holderTemplateOf(holder: KubeObject | undefined, ref: TemplateHolderRef, workload: KubeObject): PodTemplateParts {
  if (!holder || !isHolderOf(holder, ref, workload)) {
    throw new DevError('INVALID_INPUT', `${objectRef(workload)} takes its pod template from ${ref.kind}/${ref.name}, which is not in the input`,
      `give that ${ref.kind} together with the ${String(workload.kind)} (kubectl get ${ref.kind.toLowerCase()} ${ref.name} -o yaml), or run kubectl dev start on the cluster.`,
      { object: objectRef(workload) });
  }
  const path = ref.holder.templatePath;
  return podTemplateOf(holder, { kind: ref.kind, podMetadataPath: [...path, 'metadata'], podSpecPath: [...path, 'spec'] });
}

/** Every object (List items included), flat. */
function flat(objects: readonly KubeObject[]): KubeObject[] {
  return objects.flatMap((o) => (o.kind === 'List' && Array.isArray(o.items) ? flat((o.items as unknown[]).filter(isPlainObject) as KubeObject[]) : [o]));
}

/** The same object (kind, API group, namespace, name), whichever parse of it. */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  return a === b || (a.kind === b.kind && typeof a.apiVersion === 'string' && typeof b.apiVersion === 'string' && groupOf(a.apiVersion) === groupOf(b.apiVersion)
    && a.metadata?.name === b.metadata?.name && a.metadata?.namespace === b.metadata?.namespace);
}

/** The workload whose template `obj` holds, if any (among templateHolders' result). */
export function holdsTemplateOf(obj: KubeObject, holders: ReadonlyMap<KubeObject, KubeObject>): KubeObject | undefined {
  for (const [holder, workload] of holders) if (sameObject(holder, obj)) return workload;
  return undefined;
}

/** The objects of an input that hold another workload's template, each with the workload that names it. */
export function templateHolders(objects: readonly KubeObject[]): Map<KubeObject, KubeObject> {
  const all = flat(objects);
  const out = new Map<KubeObject, KubeObject>();
  for (const workload of all) {
    const kind = workloadKindOf(workload);
    let ref: TemplateHolderRef | undefined;
    try {
      ref = kind ? templateHolderRefOf(workload, kind) : undefined;
    } catch {
      ref = undefined; // reported when that workload itself is entered
    }
    if (!ref) continue;
    for (const candidate of all) if (isHolderOf(candidate, ref, workload)) out.set(candidate, workload);
  }
  return out;
}
