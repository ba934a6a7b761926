// KRM function mode (kustomize `--enable-exec`, kpt): a `ResourceList` in, a
// `ResourceList` out. `functionConfig` holds the options (a DevConfig). The output is
// the input text with only the changed items replaced and `results` written: every
// item that does not change keeps its exact source text, so every annotation the
// orchestrator put on it (config.kubernetes.io/index, internal.config.kubernetes.io/*,
// ids) comes back byte for byte. Errors go into `results` with severity error as well
// as to stderr with a non-zero exit (kustomize acts on the exit code only).

import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { DevError } from '../core/errors.ts';
import { checkMetadata, type Lines, type ReadDocument } from '../core/manifests.ts';
import { DEV_CONTAINER_ANNOTATION } from '../core/marks.ts';
import { isPlainObject, objectRef, type KubeObject } from '../core/objects.ts';
import { toJson } from '../core/yaml/json.ts';
import { printYaml } from '../core/yaml/write.ts';
import { devConfigFromValue, type DevConfig } from '../config/devconfig.ts';
import { applyPendingRenames, pendingRenames } from './kustomize-names.ts';
import { Output } from './output.ts';
import { problemsUnder, renderObject, Selector, type Place, type Selection } from './select.ts';

export const RESOURCE_LIST_KIND = 'ResourceList';
const RESOURCE_LIST_VERSIONS = ['config.kubernetes.io/v1', 'config.kubernetes.io/v1alpha1'];

export function isResourceList(obj: KubeObject): boolean {
  return obj.kind === RESOURCE_LIST_KIND;
}

export interface KrmOutcome {
  output: Output;
  error?: DevError;
}

interface KrmResult {
  message: string;
  severity: 'error' | 'warning' | 'info';
  resourceRef?: Record<string, string>;
  field?: { path: string };
  file?: { path: string; index?: number };
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function resourceRefOf(obj: KubeObject): Record<string, string> {
  const ref: Record<string, string> = { apiVersion: String(obj.apiVersion), kind: String(obj.kind), name: String(obj.metadata?.name ?? '') };
  if (typeof obj.metadata?.namespace === 'string') ref.namespace = obj.metadata.namespace;
  return ref;
}

/** Checks one item the way the stream reader checks a document. */
function checkItem(item: unknown, place: Place): KubeObject {
  const fail = (message: string, path?: string) => {
    throw new DevError('INVALID_INPUT', `ResourceList ${place.path}: ${message}`, 'each item must be a Kubernetes object with apiVersion, kind and metadata.',
      { source: place.source, document: place.document, line: place.line, path: path ?? place.path });
  };
  if (!isPlainObject(item)) return fail(`is ${Array.isArray(item) ? 'a list' : item === null ? 'empty' : `a ${typeof item}`}, not a Kubernetes object`);
  for (const key of ['apiVersion', 'kind']) if (typeof item[key] !== 'string' || item[key] === '') fail(`has no ${key}`);
  try {
    checkMetadata(item as KubeObject, { source: place.source, document: place.document, line: place.line, path: place.path as string }, `ResourceList ${place.path}: `);
  } catch (error) {
    if (error instanceof DevError) throw new DevError('INVALID_INPUT', error.message, 'each item must be a Kubernetes object with apiVersion, kind and metadata.', error.where);
    throw error;
  }
  return item as KubeObject;
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** Lines after the first indented by `indent` spaces (a block printed at column 0, placed at that column). */
function indentBlock(block: string, indent: number): string {
  const pad = ' '.repeat(indent);
  return block.replace(/\n(?=[^\n])/g, `\n${pad}`);
}

function withoutFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function isFlow(node: Node): boolean {
  return (isSeq(node) || isMap(node)) && node.flow === true;
}

/** The whole output: the input with the edits applied (sorted, not overlapping). */
function applyEdits(text: string, edits: Edit[]): Output {
  const output = new Output(text);
  let at = 0;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    output.copy(at, edit.start);
    output.insert(edit.text);
    at = edit.end;
  }
  output.copy(at, text.length);
  return output;
}

type Where = { source: string; document: number; line: number };

/** The parts of a ResourceList that the output is written from. */
interface ListParts {
  text: string;
  read: ReadDocument;
  rl: KubeObject;
  root: YAMLMap;
  seq: YAMLSeq<Node>;
}

function inputOffset(read: ReadDocument, node: Node | null | undefined): number | undefined {
  return node?.range ? read.toInput(node.range[0]) : undefined;
}

/** The root mapping and the items sequence; throws when the document is not a usable ResourceList. */
function listParts(text: string, read: ReadDocument, where: Where): ListParts {
  const rl = read.value as KubeObject;
  const document = read.document;
  if (typeof rl.apiVersion !== 'string' || !RESOURCE_LIST_VERSIONS.includes(rl.apiVersion)) {
    throw new DevError('INVALID_INPUT', `a ResourceList must have apiVersion ${RESOURCE_LIST_VERSIONS[0]}, not ${JSON.stringify(rl.apiVersion)}`,
      'pass a KRM function ResourceList (as kustomize and kpt send it), or a plain stream of objects.', where);
  }
  const root = document.contents as Node | null;
  const itemsNode = document.get('items', true) as Node | undefined;
  if (!isMap(root) || !Array.isArray(rl.items) || !isSeq(itemsNode)) {
    throw new DevError('INVALID_INPUT', rl.items === undefined || rl.items === null ? 'the ResourceList has no items' : 'the ResourceList items are not a list',
      'a ResourceList holds the objects in items: [...] (an empty list is fine).', { ...where, path: 'items' });
  }
  return { text, read, rl, root, seq: itemsNode as YAMLSeq<Node> };
}

/** Each item, checked, and where it stands in the input. */
function readItems(parts: ListParts, where: Where, lines: Lines): { items: KubeObject[]; places: Place[] } {
  const places: Place[] = [];
  const items = (parts.rl.items as unknown[]).map((item, j) => {
    const offset = inputOffset(parts.read, parts.seq.items[j]);
    const place: Place = { source: where.source, document: where.document, line: offset !== undefined ? lines.at(offset) : where.line, path: `items[${j}]` };
    places.push(place);
    return checkItem(item, place);
  });
  return { items, places };
}

/** The edit that writes `results` (after whatever results the input had). */
function resultsEdit(parts: ListParts, results: readonly KrmResult[]): Edit[] {
  if (results.length === 0) return [];
  const { text, read, rl, root } = parts;
  const existing = Array.isArray(rl.results) ? rl.results : [];
  const all = [...existing, ...results];
  const pair = root.items.find((p: Pair) => isScalar(p.key) && p.key.value === 'results');
  if (isFlow(root)) {
    const json = toJson(all);
    if (pair && isScalar(pair.key) && pair.key.range) {
      const value = pair.value as Node | null;
      const start = read.toInput(pair.key.range[0]);
      const end = value?.range ? read.toInput(value.range[1]) : read.toInput(pair.key.range[1]);
      return [{ start, end, text: `"results": ${json}` }];
    }
    const close = read.toInput((root.range as [number, number, number])[1]) - 1;
    return [{ start: close, end: close, text: `${root.items.length > 0 ? ', ' : ''}"results": ${json}` }];
  }
  const indent = column(text, read.toInput((root.range as [number, number, number])[0]));
  const block = indentBlock(`results:\n${printYaml(all)}`, indent);
  if (pair && isScalar(pair.key) && pair.key.range) {
    const value = pair.value as Node | null;
    const start = read.toInput(pair.key.range[0]);
    let end = value?.range && value.range[1] > value.range[0] ? read.toInput(value.range[1]) : text.indexOf(':', read.toInput(pair.key.range[1])) + 1;
    if (end <= start) end = read.toInput(pair.key.range[1]);
    return [{ start, end, text: text[end - 1] === '\n' ? block : withoutFinalNewline(block) }];
  }
  const end = read.toInput((root.range as [number, number, number])[1]);
  return [{ start: end, end, text: text[end - 1] === '\n' || end === 0 ? block : `\n${withoutFinalNewline(block)}` }];
}

function warningResults(warnings: readonly string[]): KrmResult[] {
  return warnings.map((message) => ({ message, severity: 'warning' as const }));
}

/** The outcome of a failed function: the items unchanged, the warnings so far and the error in `results`. */
function failed(parts: ListParts, warnings: readonly string[], error: DevError, obj?: KubeObject): KrmOutcome {
  const result: KrmResult = { message: `${error.message} (${error.hint})`, severity: 'error' };
  if (obj) {
    result.resourceRef = resourceRefOf(obj);
    const file = obj.metadata?.annotations?.['internal.config.kubernetes.io/path'] ?? obj.metadata?.annotations?.['config.kubernetes.io/path'];
    if (typeof file === 'string') result.file = { path: file };
  }
  if (error.where.path !== undefined) result.field = { path: error.where.path };
  return { output: applyEdits(parts.text, resultsEdit(parts, [...warningResults(warnings), result])), error };
}

/** The DevConfig that functionConfig holds (`config` when it holds none); a DevError names the line of the bad field. */
function functionConfigOf(parts: ListParts, lines: Lines, config: DevConfig | undefined): DevConfig | undefined {
  const { rl, read } = parts;
  if (rl.functionConfig === undefined || rl.functionConfig === null) return config;
  const fcNode = read.document.get('functionConfig', true) as Node | undefined;
  return devConfigFromValue(rl.functionConfig, 'functionConfig', (path) => {
    const node = (path.length === 0 ? fcNode : read.document.getIn(['functionConfig', ...path], true)) as Node | undefined;
    const offset = inputOffset(read, node);
    return offset !== undefined ? lines.at(offset) : undefined;
  });
}

/** What dev mode makes of each item it changes, by index; or the DevError and the item it came from. */
function renderItems(read: ReadDocument, items: readonly KubeObject[], places: readonly Place[], selector: Selector, source: string):
  { replaced: Map<number, KubeObject[]> } | { error: DevError; item: KubeObject | undefined } {
  const replaced = new Map<number, KubeObject[]>();
  const renames = pendingRenames(items);
  const prepare = (obj: KubeObject) => applyPendingRenames(obj, renames);
  let current: KubeObject | undefined;
  selector.templateContext = () => items;
  try {
    items.forEach((item, j) => {
      current = item;
      const out = renderObject(item, selector, places[j] as Place, prepare, problemsUnder(read.problems, `items[${j}]`));
      if (out !== undefined) replaced.set(j, out);
    });
    current = undefined;
    selector.checkAllMatched(source);
  } catch (error) {
    if (error instanceof DevError) return { error, item: current };
    throw error;
  }
  return { replaced };
}

/** Each changed item replaced where it stands; what dev mode generated for it follows as new items. */
function itemEdits(parts: ListParts, replaced: ReadonlyMap<number, KubeObject[]>): Edit[] {
  const { text, read, seq } = parts;
  const edits: Edit[] = [];
  const seqFlow = isFlow(seq);
  for (const [j, objects] of replaced) {
    const node = seq.items[j] as Node;
    const range = node.range as [number, number, number];
    const start = read.toInput(range[0]);
    const end = read.toInput(range[1]);
    if (seqFlow) {
      edits.push({ start, end, text: objects.map((o) => toJson(o)).join(', ') });
      continue;
    }
    const indent = column(text, start);
    let dash = start - 1;
    while (dash > 0 && /\s/.test(text[dash] as string)) dash--;
    const dashColumn = text[dash] === '-' ? column(text, dash) : Math.max(0, indent - 2);
    const [first, ...generated] = objects.map((o) => printYaml(o));
    let block = indentBlock(first as string, indent);
    for (const g of generated) block += `${' '.repeat(dashColumn)}- ${indentBlock(g, dashColumn + 2)}`;
    edits.push({ start, end, text: text[end - 1] === '\n' ? block : withoutFinalNewline(block) });
  }
  return edits;
}

/** One info result for each item put in dev mode. */
function devModeResults(items: readonly KubeObject[], replaced: ReadonlyMap<number, KubeObject[]>): KrmResult[] {
  const results: KrmResult[] = [];
  for (const [j, out] of replaced) results.push({ message: `${objectRef(items[j] as KubeObject)} is in dev mode (container ${String(out[0]?.metadata?.annotations?.[DEV_CONTAINER_ANNOTATION])})`, severity: 'info', resourceRef: resourceRefOf(items[j] as KubeObject) });
  return results;
}

/**
 * Renders a ResourceList. Throws a DevError (and prints nothing) when the input is
 * not a usable ResourceList; otherwise returns the output, with `error` set when the
 * function failed (the output then holds the items unchanged and the error in `results`).
 */
export function renderResourceList(text: string, read: ReadDocument, where: Where, lines: Lines,
  selection: Omit<Selection, 'config'> & { config?: DevConfig }, warnings: string[]): KrmOutcome {
  const parts = listParts(text, read, where);
  const { items, places } = readItems(parts, where, lines);
  let config: DevConfig | undefined;
  try {
    config = functionConfigOf(parts, lines, selection.config);
  } catch (error) {
    if (error instanceof DevError) return failed(parts, warnings, error);
    throw error;
  }
  const selector = new Selector({ ...selection, ...(config ? { config } : {}) });
  const rendered = renderItems(read, items, places, selector, where.source);
  if ('error' in rendered) return failed(parts, warnings, rendered.error, rendered.item);
  warnings.push(...selector.finalWarnings(items.length));
  const edits = itemEdits(parts, rendered.replaced);
  edits.push(...resultsEdit(parts, [...warningResults(warnings), ...devModeResults(items, rendered.replaced)]));
  return { output: applyEdits(text, edits) };
}
