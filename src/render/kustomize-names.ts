// kustomize hands a KRM function the objects before it fixes name references: after
// `namePrefix: dev-`, a Service is already `dev-reviews` but a pod's
// `serviceAccountName` still says `bookinfo-reviews` (kustomize rewrites it only at
// the end of the build, from the internal.config.kubernetes.io/previous* annotations).
// kustomize fixes the rendered spec, but not the copy dev mode saves in an annotation,
// so `kubectl dev end` would restore stale names. So, before the rewrite, the pending
// renames are applied to the pod's references the way kustomize will apply them.

import { workloadKindOf } from '../core/kinds.ts';
import { getPath, isPlainObject, type KubeObject, type PlainObject } from '../core/objects.ts';

const PREVIOUS_NAMES = 'internal.config.kubernetes.io/previousNames';
const PREVIOUS_KINDS = 'internal.config.kubernetes.io/previousKinds';

/** kind → old name → new name, for objects kustomize renamed in this build. */
export type Renames = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Reads the pending renames from the items of a ResourceList. */
export function pendingRenames(items: readonly KubeObject[]): Renames {
  const renames = new Map<string, Map<string, string>>();
  for (const item of items) {
    const annotations = item.metadata?.annotations;
    const previous = annotations?.[PREVIOUS_NAMES];
    const name = item.metadata?.name;
    if (typeof previous !== 'string' || typeof name !== 'string' || typeof item.kind !== 'string') continue;
    const kinds = annotations?.[PREVIOUS_KINDS]?.split(',');
    previous.split(',').forEach((old, i) => {
      if (old === '' || old === name) return;
      const kind = kinds?.[i] ?? item.kind as string;
      if (kind !== item.kind) return;
      if (!renames.has(kind)) renames.set(kind, new Map());
      (renames.get(kind) as Map<string, string>).set(old, name);
    });
  }
  return renames;
}

type Fix = (value: unknown) => unknown;

function fixAt(holder: unknown, key: string, fix: Fix): void {
  if (isPlainObject(holder) && typeof holder[key] === 'string') holder[key] = fix(holder[key]);
}

function each(list: unknown, fn: (item: PlainObject) => void): void {
  if (Array.isArray(list)) for (const item of list) if (isPlainObject(item)) fn(item);
}

/** The reference fields of a pod spec that kustomize's default name references cover. */
function fixPodSpec(spec: PlainObject, rename: (kind: string) => Fix): void {
  const sa = rename('ServiceAccount');
  fixAt(spec, 'serviceAccountName', sa);
  fixAt(spec, 'serviceAccount', sa);
  fixAt(spec, 'priorityClassName', rename('PriorityClass'));
  each(spec.imagePullSecrets, (s) => fixAt(s, 'name', rename('Secret')));
  each(spec.volumes, (v) => {
    fixAt(v.configMap, 'name', rename('ConfigMap'));
    fixAt(v.secret, 'secretName', rename('Secret'));
    fixAt(v.persistentVolumeClaim, 'claimName', rename('PersistentVolumeClaim'));
    if (isPlainObject(v.projected)) {
      each(v.projected.sources, (s) => {
        fixAt(s.configMap, 'name', rename('ConfigMap'));
        fixAt(s.secret, 'name', rename('Secret'));
      });
    }
  });
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    each(spec[field], (c) => {
      each(c.env, (e) => {
        if (!isPlainObject(e.valueFrom)) return;
        fixAt(e.valueFrom.configMapKeyRef, 'name', rename('ConfigMap'));
        fixAt(e.valueFrom.secretKeyRef, 'name', rename('Secret'));
      });
      each(c.envFrom, (e) => {
        fixAt(e.configMapRef, 'name', rename('ConfigMap'));
        fixAt(e.secretRef, 'name', rename('Secret'));
      });
    });
  }
}

/** The workload with kustomize's pending renames applied to its pod's references (itself when none applies). */
export function applyPendingRenames(obj: KubeObject, renames: Renames): KubeObject {
  if (renames.size === 0) return obj;
  const kind = workloadKindOf(obj);
  if (!kind) return obj;
  const copy = structuredClone(obj);
  let changed = false;
  const rename = (k: string): Fix => (value) => {
    const to = renames.get(k)?.get(value as string);
    if (to === undefined) return value;
    changed = true;
    return to;
  };
  const spec = getPath(copy, kind.podSpecPath);
  if (!isPlainObject(spec)) return obj; // no pod spec: the rewrite reports it
  fixPodSpec(spec, rename);
  if (isPlainObject(copy.spec)) for (const ref of kind.nameReferences) fixAt(copy.spec, ref.field, rename(ref.kind));
  return changed ? copy : obj;
}
