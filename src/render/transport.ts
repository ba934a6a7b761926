// Annotations that tools put on objects only while passing them through a
// post-renderer or a KRM function: Helm 4's file name (it regroups the output by
// it, then removes it), kustomize's index, path and ids (it matches the returned
// items by them, then removes them). They belong to the trip, not to the
// workload: `render` keeps them on every object it returns, but keeps them out of
// the original that dev mode saves (so `kubectl dev end` never restores them).

import type { KubeObject } from '../core/objects.ts';

/** Helm 4 adds this to every document it hands a post-renderer, and groups the result by it. */
export const HELM_FILENAME_ANNOTATION = 'postrenderer.helm.sh/postrender-filename';

const TRANSPORT_KEYS: ReadonlySet<string> = new Set([
  HELM_FILENAME_ANNOTATION,
  'config.kubernetes.io/index',
  'config.kubernetes.io/path',
  'config.kubernetes.io/id',
  'config.k8s.io/id',
  'kustomize.config.k8s.io/id',
]);
const TRANSPORT_PREFIXES: readonly string[] = ['internal.config.kubernetes.io/'];

export function isTransportAnnotation(key: string): boolean {
  return TRANSPORT_KEYS.has(key) || TRANSPORT_PREFIXES.some((prefix) => key.startsWith(prefix));
}

export interface Stripped {
  object: KubeObject;
  /** The transport annotations taken off, in their original order (empty when none). */
  saved: Record<string, string>;
}

/** A shallow copy of the object without transport annotations (the object itself when it has none). */
export function stripTransport(obj: KubeObject): Stripped {
  const annotations = obj.metadata?.annotations;
  if (annotations === undefined || annotations === null) return { object: obj, saved: {} };
  const keys = Object.keys(annotations);
  if (!keys.some(isTransportAnnotation)) return { object: obj, saved: {} };
  const kept: Record<string, string> = {};
  const saved: Record<string, string> = {};
  for (const key of keys) {
    if (isTransportAnnotation(key)) saved[key] = annotations[key] as string;
    else kept[key] = annotations[key] as string;
  }
  const metadata = { ...obj.metadata };
  if (Object.keys(kept).length > 0) metadata.annotations = kept;
  else delete metadata.annotations;
  return { object: { ...obj, metadata }, saved };
}

/**
 * Puts transport annotations back on a rewritten workload. Keys keep the order of
 * the input object's annotations; annotations dev mode added follow.
 */
export function restoreTransport(rewritten: KubeObject, original: KubeObject, saved: Record<string, string>): KubeObject {
  if (Object.keys(saved).length === 0) return rewritten;
  const now = rewritten.metadata?.annotations ?? {};
  const annotations: Record<string, string> = {};
  for (const key of Object.keys(original.metadata?.annotations ?? {})) {
    if (key in saved) annotations[key] = saved[key] as string;
    else if (key in now) annotations[key] = now[key] as string;
  }
  for (const [key, value] of Object.entries(now)) if (!(key in annotations)) annotations[key] = value;
  return { ...rewritten, metadata: { ...rewritten.metadata, annotations } };
}

/**
 * Objects dev mode generates (a Job for a CronJob, a Deployment for a DaemonSet) go
 * to the same Helm template file as their workload; kustomize's ids are not copied
 * (a generated object is a new resource to kustomize).
 */
export function transportForGenerated(generated: KubeObject, saved: Record<string, string>): KubeObject {
  const file = saved[HELM_FILENAME_ANNOTATION];
  if (file === undefined) return generated;
  return { ...generated, metadata: { ...generated.metadata, annotations: { ...generated.metadata?.annotations, [HELM_FILENAME_ANNOTATION]: file } } };
}
