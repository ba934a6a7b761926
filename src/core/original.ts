// What dev mode saves of a workload so that exit restores it exactly: its labels,
// annotations and spec. Everything else in metadata is the server's and stays as it is.

import { DevError } from './errors.ts';
import { isPlainObject, type KubeObject, type PlainObject } from './objects.ts';
import { fromJson, toJson } from './yaml/json.ts';

export interface RestorableState {
  /** null when the manifest says `labels:` with nothing after it (kubectl reads null; so does end). */
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  spec?: unknown;
}

/** The parts of a workload that exit puts back; absent parts stay absent. */
export function restorableState(obj: KubeObject): RestorableState {
  const state: RestorableState = {};
  if (obj.metadata?.labels !== undefined) state.labels = obj.metadata.labels;
  if (obj.metadata?.annotations !== undefined) state.annotations = obj.metadata.annotations;
  if (obj.spec !== undefined) state.spec = obj.spec;
  return structuredClone(state);
}

/** The saved original as JSON, integers beyond 2^53 exact. */
export function originalJson(obj: KubeObject): string {
  return toJson(restorableState(obj));
}

const mapOrNull = (value: unknown) => value === undefined || value === null || isPlainObject(value);

export function parseRestorableState(text: string, where: string): RestorableState {
  let parsed: unknown;
  try {
    parsed = fromJson(text);
  } catch {
    parsed = undefined;
  }
  if (!isPlainObject(parsed) || !mapOrNull(parsed.labels) || !mapOrNull(parsed.annotations)) {
    throw new DevError('CORRUPT_DEV_STATE', `the saved original of ${where} is not valid JSON of labels, annotations and spec`,
      'someone edited the dev-mode annotation; restore the workload from its source (helm, kustomize, git) and remove the dev.kubectl-dev.io annotations and label.');
  }
  return parsed as RestorableState;
}

/** Puts a saved state back on a copy of the object (labels, annotations and spec replaced exactly). */
export function applyRestorableState(obj: KubeObject, state: RestorableState): KubeObject {
  const restored: KubeObject = structuredClone(obj);
  const metadata: PlainObject = { ...(restored.metadata ?? {}) };
  delete metadata.labels;
  delete metadata.annotations;
  if (state.labels !== undefined) metadata.labels = state.labels === null ? null : structuredClone(state.labels);
  if (state.annotations !== undefined) metadata.annotations = state.annotations === null ? null : structuredClone(state.annotations);
  restored.metadata = metadata;
  if (state.spec === undefined) delete restored.spec;
  else restored.spec = structuredClone(state.spec);
  return restored;
}
