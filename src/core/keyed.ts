// A workload's spec with its pod lists keyed as the API server keys them in managedFields
// (containers by name, volumeMounts by mountPath: `k:{"name":"app"}`), so that dev mode's
// edits, another manager's change and managedFields' entries are compared item by item,
// not by index. Pure.

import { isPlainObject, type PlainObject } from './objects.ts';

/** The merge key of each pod list dev mode edits (the API's `patchMergeKey`). Other lists are atomic here. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', volumes: 'name', env: 'name', volumeMounts: 'mountPath',
};

/** The key managedFields give an item of a keyed list: `k:{"name":"app"}`. */
export function itemKey(mergeKey: string, value: string): string {
  return `k:${JSON.stringify({ [mergeKey]: value })}`;
}

const isKeyedList = (field: string | undefined, value: unknown[]): field is string => {
  const key = field === undefined ? undefined : MERGE_KEYS[field];
  return key !== undefined && value.every((item) => isPlainObject(item) && typeof item[key] === 'string');
};

/** The value with its keyed lists as objects of `k:{…}` keys (in the list's order). */
export function keyedView(value: unknown, field?: string): unknown {
  if (Array.isArray(value)) {
    if (!isKeyedList(field, value)) return value.map((item) => keyedView(item));
    const key = MERGE_KEYS[field] as string;
    return Object.fromEntries(value.map((item) => [itemKey(key, String((item as PlainObject)[key])), keyedView(item)]));
  }
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keyedView(v, k)]));
  return value;
}

/** The inverse of keyedView: keyed objects back to lists. */
export function listView(value: unknown, field?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => listView(item));
  if (!isPlainObject(value)) return value;
  if (field !== undefined && MERGE_KEYS[field] !== undefined && Object.keys(value).every((k) => k.startsWith('k:'))) {
    return Object.values(value).map((item) => listView(item));
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, listView(v, k)]));
}

/** A JSON pointer (fast-json-patch's paths) as segments. */
export function pointerSegments(pointer: string): string[] {
  return pointer.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

export function valueAt(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const segment of path) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isPlainObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/**
 * Sets (or, with `undefined`, deletes) the value at `path`, when its parent exists. A key new
 * to a keyed object goes where it was in `order` (the keys of the same object elsewhere).
 * False when the parent is missing.
 */
export function putAt(root: PlainObject, path: readonly string[], value: unknown, order: readonly string[] = []): boolean {
  const parent = valueAt(root, path.slice(0, -1));
  const last = path[path.length - 1] as string;
  if (!isPlainObject(parent)) return false;
  if (value === undefined) {
    delete parent[last];
    return true;
  }
  if (last in parent || !last.startsWith('k:')) {
    parent[last] = value;
    return true;
  }
  const entries = Object.entries(parent);
  const at = Math.min(Math.max(order.indexOf(last), 0), entries.length);
  entries.splice(at, 0, [last, value]);
  for (const key of Object.keys(parent)) delete parent[key];
  Object.assign(parent, Object.fromEntries(entries));
  return true;
}
