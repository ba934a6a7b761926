// Plain-object helpers shared by the pure core. No I/O.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
  [key: string]: unknown;
}

/** A Kubernetes object as parsed from YAML/JSON: only apiVersion/kind/metadata are assumed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** `Deployment/web` (with `ns/` in front when the object names a namespace). */
export function objectRef(obj: KubeObject): string {
  const kind = typeof obj.kind === 'string' ? obj.kind : '<no kind>';
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '<no name>';
  return `${kind}/${name}`;
}

/** Reads a nested value; undefined when any step is missing or not an object. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (!isPlainObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** Sets `value` at `path` inside `root`, creating plain objects on the way. */
export function ensureObjectAt(root: PlainObject, path: readonly string[]): PlainObject {
  let current = root;
  for (const key of path) {
    const next = current[key];
    if (isPlainObject(next)) {
      current = next;
    } else {
      const created: PlainObject = {};
      current[key] = created;
      current = created;
    }
  }
  return current;
}

/** Size of a string in bytes once encoded as UTF-8, which is what the API server counts. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
