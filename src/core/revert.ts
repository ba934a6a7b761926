// Whether a workload is still in dev mode or another field manager undid it (a GitOps sync,
// `kubectl apply` of the original, a Helm upgrade, `kubectl rollout undo`), told from the
// object alone: dev mode's edits (its saved original → `enter` again with the recorded
// settings) compared with the object now, and managedFields for who changed them and when.
// Measured on the API server (docs/decisions.md, 2026-12-01): an apply of the original gives
// back the fields the manifest names (the dev container's command) and leaves the sidecar and
// the marks; `rollout undo` replaces the template and drops the marks but not the label;
// `kubectl replace` drops everything. Pure.

import { WORKLOAD_MARK_ANNOTATIONS, settingsInputOf } from './drift.ts';
import { isInDevMode, recordedSettings, remade } from './enter.ts';
import { podTemplateOf, type WorkloadKind } from './kinds.ts';
import { keyedView, listView, pointerSegments, putAt, valueAt } from './keyed.ts';
import { DEV_MODE_LABEL, FIELD_MANAGER, PAUSE_NODE_SELECTOR_KEY, SIDECAR_CONTAINER } from './marks.ts';
import { getPath, isPlainObject, type KubeObject, type PlainObject } from './objects.ts';
import { quantityValue } from './resources.ts';
import jsonPatch from 'fast-json-patch';

/** The managedFields entry of the manager that changed what dev mode had set. */
export interface Writer {
  manager: string;
  /** `Update` or `Apply` (server-side apply). */
  operation: string;
  /** When that manager last wrote the object (managedFields keep seconds). */
  time: string;
}

export type DevModeCheck =
  | { state: 'in-dev-mode' }
  | { state: 'not-in-dev-mode' }
  /** `by` is absent when no manager owns what changed: a change that only removes fields leaves no owner. */
  | { state: 'reverted'; by?: Writer; undone: string[] };

/** One field dev mode set on the spec (keyed view): its value in dev mode, or removed. */
export interface DevEdit {
  path: string[];
  /** undefined: dev mode removed the field. */
  value: unknown;
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string;
  subresource?: string;
  fieldsV1?: unknown;
}

const managedFields = (obj: KubeObject): ManagedFieldsEntry[] =>
  (Array.isArray(obj.metadata?.managedFields) ? obj.metadata.managedFields : []).filter(isPlainObject) as ManagedFieldsEntry[];

/** Another manager's write of the object itself (status writes are the controllers'). */
const othersWrite = (e: ManagedFieldsEntry) => e.manager !== FIELD_MANAGER && e.subresource === undefined && typeof e.manager === 'string';

/** The spec fields dev mode set on `original` to make `made`, keyed; an edit inside an atomic list is the whole list. */
export function devModeEdits(original: KubeObject, made: KubeObject): DevEdit[] {
  const before = keyedView({ spec: original.spec ?? {} });
  const after = keyedView({ spec: made.spec ?? {} });
  const edits = new Map<string, DevEdit>();
  for (const op of jsonPatch.compare(before as object, after as object)) {
    let path = pointerSegments(op.path);
    const inList = path.findIndex((_, i) => i > 0 && (Array.isArray(valueAt(after, path.slice(0, i))) || Array.isArray(valueAt(before, path.slice(0, i)))));
    if (inList > 0) path = path.slice(0, inList);
    edits.set(JSON.stringify(path), { path, value: valueAt(after, path) });
  }
  return [...edits.values()];
}

/** True when `current` has what `expected` sets (the API server adds defaults; quantities compare by value). */
export function covers(current: unknown, expected: unknown): boolean {
  if (expected === undefined) return current === undefined;
  if (Array.isArray(expected)) return Array.isArray(current) && current.length === expected.length && expected.every((e, i) => covers(current[i], e));
  if (isPlainObject(expected)) return isPlainObject(current) && Object.entries(expected).every(([k, v]) => covers(current[k], v));
  if (typeof expected === 'string' && typeof current === 'string' && current !== expected) {
    const [a, b] = [quantityValue(current), quantityValue(expected)];
    return a !== undefined && a === b;
  }
  return current === expected;
}

/** The edits that are not on the object any more. The replica count is not dev mode itself (scaling is not a revert). */
export function undoneEdits(edits: readonly DevEdit[], current: KubeObject): DevEdit[] {
  const now = keyedView({ spec: current.spec ?? {} });
  return edits.filter((e) => !(e.path[1] === 'replicas' && e.path.length === 2) && !covers(valueAt(now, e.path), e.value));
}

/** Whether managedFields' `fieldsV1` holds the field at `path` (keyed view segments). */
export function ownsField(fieldsV1: unknown, path: readonly string[]): boolean {
  let node = fieldsV1;
  for (const segment of path) {
    if (!isPlainObject(node)) return false;
    node = node[segment.startsWith('k:') ? segment : `f:${segment}`];
    if (node === undefined) return false;
  }
  return true;
}

function newest(entries: ManagedFieldsEntry[]): Writer | undefined {
  const sorted = entries.filter((e) => typeof e.time === 'string').sort((a, b) => String(b.time).localeCompare(String(a.time)));
  const e = sorted[0];
  return e ? { manager: String(e.manager), operation: String(e.operation ?? 'Update'), time: String(e.time) } : undefined;
}

/** After `since` at managedFields' precision (seconds): a write in the same second as the start is not told from the start. */
const after = (time: string | undefined, since: string) => time !== undefined && Date.parse(time) >= Math.floor(Date.parse(since) / 1000) * 1000 + 1000;

/** Dev mode's traces on the workload, for when its marks are gone (`rollout undo` copies the old ReplicaSet's annotations): what is missing. */
function traces(current: KubeObject, kind: WorkloadKind): string | undefined {
  if (kind.pause?.by === 'fields') {
    const off = kind.pause.fields.find((f) => !covers(getPath(current, f.path), f.value));
    return off ? off.path.join('.') : undefined;
  }
  let spec: PlainObject;
  try {
    spec = podTemplateOf(structuredClone(current), kind).spec;
  } catch {
    return undefined;
  }
  const where = kind.podSpecPath.join('.');
  if (kind.strategy === 'in-place' || kind.strategy === 'recreate') {
    const has = Array.isArray(spec.containers) && spec.containers.some((c) => isPlainObject(c) && c.name === SIDECAR_CONTAINER);
    return has ? undefined : `${where}.containers[${SIDECAR_CONTAINER}]`;
  }
  if (kind.pause?.by === 'node-selector') {
    return isPlainObject(spec.nodeSelector) && PAUSE_NODE_SELECTOR_KEY in spec.nodeSelector ? undefined : `${where}.nodeSelector.${PAUSE_NODE_SELECTOR_KEY}`;
  }
  return undefined;
}

/** The workload as dev mode made it from its original with the settings it recorded; undefined when they cannot be read. */
export function madeFrom(current: KubeObject, original: KubeObject, kind: WorkloadKind): KubeObject | undefined {
  const settings = recordedSettings(current);
  if (!settings) return undefined;
  try {
    return remade(current, original, kind, settingsInputOf(settings));
  } catch {
    return undefined;
  }
}

const dotted = (path: readonly string[]) => path.map((s) => (s.startsWith('k:') ? `[${Object.values(JSON.parse(s.slice(2)) as Record<string, string>)[0]}]` : `.${s}`)).join('').slice(1);

/**
 * In dev mode, reverted (with who and when, from managedFields), or not in dev mode.
 * `original`: the saved original (undefined when its marks are gone); `since`: when dev mode
 * was entered (the workload's or the sync Secret's mark), to tell a revert that removed the
 * dev-mode label from an `end`.
 */
export function checkDevMode(current: KubeObject, kind: WorkloadKind, o: { original?: KubeObject; since?: string }): DevModeCheck {
  const entries = managedFields(current);
  if (!isInDevMode(current)) {
    // An `end` leaves no later write of another manager; `kubectl replace` of the original does.
    const by = o.since === undefined ? undefined : newest(entries.filter((e) => othersWrite(e) && after(e.time, o.since!) && ownsField(e.fieldsV1, ['spec'])));
    return by ? { state: 'reverted', by, undone: [`metadata.labels.${DEV_MODE_LABEL}`] } : { state: 'not-in-dev-mode' };
  }
  const made = o.original ? madeFrom(current, o.original, kind) : undefined;
  const undone = made && o.original ? undoneEdits(devModeEdits(o.original, made), current) : [];
  const paths = undone.map((e) => dotted(e.path));
  const trace = traces(current, kind);
  if (trace !== undefined && !paths.includes(trace)) paths.push(trace);
  if (paths.length === 0) return { state: 'in-dev-mode' };
  const owners = entries.filter((e) => othersWrite(e) && undone.some((u) => ownsField(e.fieldsV1, u.path)));
  const since = o.since;
  const by = newest(owners) ?? (since === undefined ? undefined : newest(entries.filter((e) => othersWrite(e) && after(e.time, since) && ownsField(e.fieldsV1, ['spec']))));
  return by ? { state: 'reverted', by, undone: paths } : { state: 'reverted', undone: paths };
}

/**
 * What `end` leaves of a reverted workload: the other manager's change kept, dev mode's
 * edits that are still there given back their original values, its label and marks removed.
 */
export function withoutDevMode(current: KubeObject, kind: WorkloadKind, original: KubeObject | undefined): KubeObject {
  const made = original ? madeFrom(current, original, kind) : undefined;
  const view = keyedView({ spec: current.spec ?? {} }) as PlainObject;
  if (original && made) {
    const before = keyedView({ spec: original.spec ?? {} });
    const undone = new Set(undoneEdits(devModeEdits(original, made), current).map((e) => JSON.stringify(e.path)));
    const edits = devModeEdits(original, made).filter((e) => !undone.has(JSON.stringify(e.path)));
    for (const edit of edits) {
      const parent = valueAt(before, edit.path.slice(0, -1));
      putAt(view, edit.path, structuredClone(valueAt(before, edit.path)), isPlainObject(parent) ? Object.keys(parent) : []);
    }
  }
  const out = structuredClone(current);
  if (current.spec !== undefined) out.spec = (listView(view) as PlainObject).spec as PlainObject;
  const labels = { ...(current.metadata?.labels ?? {}) };
  delete labels[DEV_MODE_LABEL];
  const annotations = Object.fromEntries(Object.entries(current.metadata?.annotations ?? {}).filter(([k]) => !WORKLOAD_MARK_ANNOTATIONS.has(k)));
  out.metadata = { ...out.metadata, labels, annotations };
  return out;
}

/** "reverted by kubectl-client-side-apply at 2026-12-01T19:10:55Z" (managedFields name no one for a change that only removed fields). */
export function revertedText(check: { by?: Writer }): string {
  return check.by ? `reverted by ${check.by.manager} at ${check.by.time}` : 'reverted by another field manager (a change that only removed fields leaves no owner in managedFields)';
}
