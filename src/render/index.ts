// `render`: the dev-mode rewrite of `start --local` applied to a rendered manifest
// stream (Helm post-renderer, pipes) or to a KRM ResourceList (kustomize exec
// function), detected from the input. Pure: text and options in, text out; the
// same input and options always give the same bytes (no time, no keys).

import { DevError } from '../core/errors.ts';
import { TEMPLATE_CONTEXT_KINDS, WORKLOAD_KINDS, type WorkloadRef } from '../core/kinds.ts';
import { Lines, readChunk, readChunkValue, streamChunks, type ReadValue } from '../core/manifests.ts';
import { isPlainObject, type KubeObject } from '../core/objects.ts';
import type { DevSettingsInput } from '../core/settings.ts';
import type { Chunk } from '../core/yaml/scan.ts';
import type { DevConfig } from '../config/devconfig.ts';
import { isResourceList, RESOURCE_LIST_KIND, renderResourceList } from './krm.ts';
import type { Output, Piece } from './output.ts';
import { renderObject, rewriteOne, Selector } from './select.ts';
import { assembleStream } from './stream.ts';

export { HELM_FILENAME_ANNOTATION, isTransportAnnotation } from './transport.ts';
export { OPT_IN_ANNOTATION } from './select.ts';
export { MAX_DEPTH } from '../core/manifests.ts';
export type { Piece } from './output.ts';

export interface RenderOptions {
  /** `--select KIND/NAME`, each of which must match a workload. */
  selects?: readonly WorkloadRef[];
  /** The dev config (`--config`); in KRM mode a functionConfig replaces it. */
  config?: DevConfig;
  /** Settings from flags, over the config's. */
  settings?: DevSettingsInput;
  /** Name of the input for messages (`-` is stdin). */
  source?: string;
  /** `--force`: node-critical DaemonSets may be selected too. */
  force?: boolean;
}

export interface RenderOutcome {
  mode: 'stream' | 'krm';
  /** The whole output, written in one write. Empty when the input was unusable. */
  readonly stdout: string;
  /** The output as pieces of the input (offsets into the input text) and new text: what the CLI writes. */
  pieces: readonly Piece[];
  /** Said on stderr; the output is still good. */
  warnings: string[];
  /** Set when rendering failed: exit non-zero. In KRM mode stdout then holds the ResourceList with the error in results. */
  error?: DevError;
}

/** Input the `yaml` library cannot walk (nesting thousands deep) ends as a located error, never a crash. */
function asDevError(error: unknown, source: string): DevError {
  if (error instanceof DevError) return error;
  if (error instanceof RangeError) {
    return new DevError('INVALID_INPUT', 'the input is nested too deeply to read', 'Kubernetes objects are a few levels deep; check that the input is a manifest stream.', { source });
  }
  throw error;
}

/** Kinds whose documents are parsed: the ones render may change, and the KRM envelope. */
const PARSED_KINDS: ReadonlySet<string> = new Set([...WORKLOAD_KINDS.map((k) => k.kind), 'List', RESOURCE_LIST_KIND]);

interface Entry {
  chunk: Chunk;
  index: number;
  line: number;
  read?: ReadValue;
  /** A workload whose apiVersion and metadata can be read alone (chunk.head). */
  head?: boolean;
}

const WORKLOAD_KIND_NAMES: ReadonlySet<string> = new Set(WORKLOAD_KINDS.map((k) => k.kind));

/**
 * A workload's apiVersion, kind and metadata, read from their own lines (whole lines of
 * the document, in their order), or undefined when they cannot be read alone without
 * doubt (an alias, a duplicate key, a parse error): then the whole document is read.
 */
function readHead(text: string, chunk: Chunk, lines: Lines, place: { source: string; document: number; line: number }): KubeObject | undefined {
  const head = chunk.head as NonNullable<Chunk['head']>;
  const regions = [head.apiVersion, head.metadata].sort((a, b) => a[0] - b[0]);
  const body = regions.map(([start, end]) => text.slice(start, end)).map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join('');
  try {
    const read = readChunkValue(`kind: ${String(chunk.kind)}\n${body}`, 0, new Lines(''), place);
    if (read.problems.length > 0 || !isPlainObject(read.value)) return undefined;
    return read.value as KubeObject;
  } catch (error) {
    if (error instanceof DevError) return undefined;
    throw error;
  }
}

/** The documents that hold or name other workloads' pod templates, parsed on first use only (most streams never need them). */
function templateContextOf(text: string, entries: readonly Entry[], lines: Lines, source: string): () => readonly KubeObject[] {
  let objects: KubeObject[] | undefined;
  return () => objects ??= entries.flatMap((entry) => {
    if (typeof entry.chunk.kind !== 'string' || !TEMPLATE_CONTEXT_KINDS.has(entry.chunk.kind)) return [];
    const value = entry.read?.value ?? readChunkValue(text.slice(entry.chunk.start, entry.chunk.end), entry.chunk.start, lines, { source, document: entry.index, line: entry.line }).value;
    return isPlainObject(value) ? [value as KubeObject] : [];
  });
}

function outcome(mode: 'stream' | 'krm', output: Output | undefined, warnings: string[], error?: DevError): RenderOutcome {
  return {
    mode,
    get stdout() {
      return output?.text ?? '';
    },
    pieces: output?.pieces ?? [],
    warnings,
    ...(error ? { error } : {}),
  };
}

/** Renders text; never throws for bad input or bad options (see `error`), only for bugs. */
export function render(text: string, options: RenderOptions = {}): RenderOutcome {
  const source = options.source ?? '-';
  const warnings: string[] = [];
  let mode: 'stream' | 'krm' = 'stream';
  try {
    const { chunks, documents, lines } = streamChunks(text, source);
    const entries: Entry[] = [];
    for (const doc of documents) {
      const index = entries.length;
      if (doc.read === undefined && doc.chunk.kind !== undefined && (doc.chunk.kind === null || !PARSED_KINDS.has(doc.chunk.kind))) {
        entries.push({ chunk: doc.chunk, index, line: 0 });
        continue;
      }
      const line = lines.at(doc.content);
      if (doc.read === undefined && doc.chunk.head !== undefined && WORKLOAD_KIND_NAMES.has(doc.chunk.kind as string)) {
        // A workload: its metadata is enough to decide; it is parsed whole only when selected.
        entries.push({ chunk: doc.chunk, index, line, head: true });
        continue;
      }
      const read: ReadValue = doc.read ? { value: doc.read.value, problems: doc.read.problems, full: doc.read } : readChunkValue(text.slice(doc.chunk.start, doc.chunk.end), doc.chunk.start, lines, { source, document: index, line });
      // A document of only `~` or `null` is no document (kubectl skips it too).
      if (read.value === null) continue;
      entries.push({ chunk: doc.chunk, index, line, read });
    }
    const list = entries.find((e) => isPlainObject(e.read?.value) && isResourceList(e.read.value as KubeObject));
    const selection = { selects: options.selects ?? [], settings: options.settings ?? {}, ...(options.force ? { force: true } : {}), ...(options.config ? { config: options.config } : {}) };
    if (list) {
      if (entries.length > 1) {
        throw new DevError('INVALID_INPUT', `a ResourceList must be the only document of the input, but there are ${entries.length}`,
          'send either one KRM ResourceList (as kustomize and kpt do) or a plain stream of objects.', { source, document: list.index, line: list.line });
      }
      mode = 'krm';
      const where = { source, document: list.index, line: list.line };
      // KRM mode splices items into the input where they stand: it needs the document model.
      const read = list.read?.full ?? readChunk(text.slice(list.chunk.start, list.chunk.end), list.chunk.start, lines, where);
      const krm = renderResourceList(text, read, where, lines, selection, warnings);
      return outcome(mode, krm.output, warnings, krm.error);
    }
    const selector = new Selector(selection);
    selector.templateContext = templateContextOf(text, entries, lines, source);
    const replaced = new Map<Chunk, KubeObject[]>();
    for (const entry of entries) {
      if (entry.head) {
        const place = { document: entry.index, line: entry.line, source };
        const head = readHead(text, entry.chunk, lines, place);
        if (head !== undefined) {
          const target = selector.targetFor(head, place);
          if (target === undefined) continue;
          const read = readChunkValue(text.slice(entry.chunk.start, entry.chunk.end), entry.chunk.start, lines, place);
          if (!isPlainObject(read.value)) continue;
          replaced.set(entry.chunk, rewriteOne(read.value as KubeObject, target, place, undefined, read.problems, selector.templateContext));
          continue;
        }
        entry.read = readChunkValue(text.slice(entry.chunk.start, entry.chunk.end), entry.chunk.start, lines, place);
      }
      const value = entry.read?.value;
      if (!isPlainObject(value) || typeof value.kind !== 'string') continue;
      const out = renderObject(value as KubeObject, selector, { document: entry.index, line: entry.line, source }, undefined, entry.read?.problems);
      if (out !== undefined) replaced.set(entry.chunk, out);
    }
    selector.checkAllMatched(source);
    warnings.push(...selector.finalWarnings(entries.length));
    return outcome(mode, assembleStream(text, chunks, replaced), warnings);
  } catch (error) {
    return outcome(mode, undefined, warnings, asDevError(error, source));
  }
}
