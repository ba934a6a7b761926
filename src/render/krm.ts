// KRM function mode (kustomize `--enable-exec`, kpt): a `ResourceList` in, a
// `ResourceList` out. `functionConfig` holds the options (a DevConfig). Items that
// do not change keep their YAML nodes, so every annotation the orchestrator put on
// them (config.kubernetes.io/index, internal.config.kubernetes.io/*, ids) comes
// back as it went in. Errors go into `results` with severity error as well as to
// stderr with a non-zero exit (kustomize acts on the exit code only).

import { isSeq, type Document, type Node, type YAMLSeq } from 'yaml';
import { DevError } from '../core/errors.ts';
import type { ParsedObject } from '../core/manifests.ts';
import { DEV_CONTAINER_ANNOTATION } from '../core/marks.ts';
import { isPlainObject, objectRef, type KubeObject } from '../core/objects.ts';
import { devConfigFromValue, type DevConfig } from '../config/devconfig.ts';
import { applyPendingRenames, pendingRenames } from './kustomize-names.ts';
import { renderObject, Selector, type Place, type Selection } from './select.ts';

export const RESOURCE_LIST_KIND = 'ResourceList';
const RESOURCE_LIST_VERSIONS = ['config.kubernetes.io/v1', 'config.kubernetes.io/v1alpha1'];

/** Print options matching `start --local` (kubectl style: no sequence indent, no folding). */
const PRINT = { directives: false, lineWidth: 0, indentSeq: false } as const;

export function isResourceList(obj: KubeObject): boolean {
  return obj.kind === RESOURCE_LIST_KIND;
}

/** Line numbers from offsets, for items of one big document. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

export interface KrmOutcome {
  stdout: string;
  error?: DevError;
}

interface KrmResult {
  message: string;
  severity: 'error' | 'warning' | 'info';
  resourceRef?: Record<string, string>;
  field?: { path: string };
  file?: { path: string; index?: number };
}

function resourceRefOf(obj: KubeObject): Record<string, string> {
  const ref: Record<string, string> = { apiVersion: String(obj.apiVersion), kind: String(obj.kind), name: String(obj.metadata?.name ?? '') };
  if (obj.metadata?.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  return ref;
}

/** Checks one item the way the stream parser checks a document. */
function checkItem(item: unknown, place: Place): KubeObject {
  const fail = (message: string, path?: string) => {
    throw new DevError('INVALID_INPUT', `ResourceList ${place.path}: ${message}`, 'each item must be a Kubernetes object with apiVersion, kind and metadata.',
      { source: place.source, document: place.document, line: place.line, path: path ?? place.path });
  };
  if (!isPlainObject(item)) return fail(`is ${Array.isArray(item) ? 'a list' : item === null ? 'empty' : `a ${typeof item}`}, not a Kubernetes object`);
  for (const key of ['apiVersion', 'kind']) if (typeof item[key] !== 'string' || item[key] === '') fail(`has no ${key}`);
  if (item.metadata !== undefined && !isPlainObject(item.metadata)) fail('metadata is not a mapping', `${place.path}.metadata`);
  for (const field of ['labels', 'annotations'] as const) {
    const map = isPlainObject(item.metadata) ? item.metadata[field] : undefined;
    if (map === undefined || map === null) continue;
    if (!isPlainObject(map) || Object.values(map).some((v) => typeof v !== 'string')) fail(`metadata.${field} must map strings to strings`, `${place.path}.metadata.${field}`);
  }
  return item as KubeObject;
}

function withResults(document: Document.Parsed, results: readonly KrmResult[]): string {
  if (results.length > 0) {
    const existing = document.get('results', true);
    if (isSeq(existing)) for (const r of results) existing.items.push(document.createNode(r));
    else document.set('results', document.createNode(results));
  }
  return document.toString(PRINT);
}

/**
 * Renders a ResourceList. Throws a DevError (and prints nothing) when the input is
 * not a usable ResourceList; otherwise returns the output, with `error` set when the
 * function failed (the output then holds the items unchanged and the error in `results`).
 */
export function renderResourceList(text: string, parsed: ParsedObject, selection: Omit<Selection, 'config'> & { config?: DevConfig }, source: string, warnings: string[]): KrmOutcome {
  const rl = parsed.object;
  const document = parsed.document;
  const where = { source, document: parsed.index, line: parsed.line };
  if (typeof rl.apiVersion !== 'string' || !RESOURCE_LIST_VERSIONS.includes(rl.apiVersion)) {
    throw new DevError('INVALID_INPUT', `a ResourceList must have apiVersion ${RESOURCE_LIST_VERSIONS[0]}, not ${JSON.stringify(rl.apiVersion)}`,
      'pass a KRM function ResourceList (as kustomize and kpt send it), or a plain stream of objects.', where);
  }
  const itemsNode = document.get('items', true) as Node | undefined;
  if (!Array.isArray(rl.items) || !isSeq(itemsNode)) {
    throw new DevError('INVALID_INPUT', rl.items === undefined ? 'the ResourceList has no items' : 'the ResourceList items are not a list',
      'a ResourceList holds the objects in items: [...] (an empty list is fine).', { ...where, path: 'items' });
  }
  const lineOf = lineIndex(text);
  const seq = itemsNode as YAMLSeq<Node>;
  const places: Place[] = [];
  const items = (rl.items as unknown[]).map((item, j) => {
    const node = seq.items[j];
    const place: Place = { source, document: parsed.index, line: node?.range ? lineOf(node.range[0]) : parsed.line, path: `items[${j}]` };
    places.push(place);
    return checkItem(item, place);
  });

  const results: KrmResult[] = [];
  const fail = (error: DevError, obj?: KubeObject): KrmOutcome => {
    const result: KrmResult = { message: `${error.message} (${error.hint})`, severity: 'error' };
    if (obj) {
      result.resourceRef = resourceRefOf(obj);
      const file = obj.metadata?.annotations?.['internal.config.kubernetes.io/path'] ?? obj.metadata?.annotations?.['config.kubernetes.io/path'];
      if (file !== undefined) result.file = { path: file };
    }
    if (error.where.path !== undefined) result.field = { path: error.where.path };
    return { stdout: withResults(document, [...warnings.map((message) => ({ message, severity: 'warning' as const })), result]), error };
  };

  let config = selection.config;
  if (rl.functionConfig !== undefined && rl.functionConfig !== null) {
    const fcNode = document.get('functionConfig', true) as Node | undefined;
    try {
      config = devConfigFromValue(rl.functionConfig, 'functionConfig', (path) => {
        const node = (path.length === 0 ? fcNode : document.getIn(['functionConfig', ...path], true)) as Node | undefined;
        return node?.range ? lineOf(node.range[0]) : undefined;
      });
    } catch (error) {
      if (error instanceof DevError) return fail(error);
      throw error;
    }
  }

  const selector = new Selector({ ...selection, ...(config ? { config } : {}) });
  const replaced = new Map<number, KubeObject[]>();
  const renames = pendingRenames(items);
  const prepare = (obj: KubeObject) => applyPendingRenames(obj, renames);
  let current: KubeObject | undefined;
  try {
    items.forEach((item, j) => {
      current = item;
      const out = renderObject(item, selector, places[j] as Place, prepare);
      if (out !== undefined) replaced.set(j, out);
    });
    current = undefined;
    selector.checkAllMatched(source);
  } catch (error) {
    if (error instanceof DevError) return fail(error, current);
    throw error;
  }
  warnings.push(...selector.finalWarnings(items.length));
  for (const [j, out] of replaced) results.push({ message: `${objectRef(items[j] as KubeObject)} is in dev mode (container ${String(out[0]?.metadata?.annotations?.[DEV_CONTAINER_ANNOTATION])})`, severity: 'info', resourceRef: resourceRefOf(items[j] as KubeObject) });

  // Replace changed items in place, last first so the indices stay right.
  for (const j of [...replaced.keys()].sort((a, b) => b - a)) {
    const nodes = (replaced.get(j) as KubeObject[]).map((obj) => document.createNode(obj, { aliasDuplicateObjects: false }) as Node);
    seq.items.splice(j, 1, ...nodes);
  }
  return { stdout: withResults(document, [...warnings.map((message) => ({ message, severity: 'warning' as const })), ...results]) };
}
