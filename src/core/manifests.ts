// Manifest streams in and out, read and written as the Kubernetes toolchain does
// (sigs.k8s.io/yaml over go-yaml v2, as kubectl and Helm read them; docs/yaml.md):
// multi-document YAML or JSON, each document remembering where it came from (for
// errors) and its source text (so documents that pass through are copied, not
// re-serialised). The `yaml` library parses; src/core/yaml/ holds the Go rules.

import { LineCounter, parseAllDocuments, parseDocument, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { DevError } from './errors.ts';
import { isPlainObject, type KubeObject } from './objects.ts';
import { readFast } from './yaml/fast.ts';
import { toJson } from './yaml/json.ts';
import { reindentQuotedScalars } from './yaml/quoted.ts';
import { readDocument, type ReadProblem } from './yaml/read.ts';
import { cutStream, type Chunk } from './yaml/scan.ts';
import { printYaml } from './yaml/write.ts';

export { MAX_DEPTH, type ReadProblem } from './yaml/read.ts';

// The failsafe schema keeps every scalar's text: src/core/yaml/read.ts resolves it as
// go-yaml does. Duplicate keys and merge keys are handled there too.
const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'failsafe',
  merge: false,
  uniqueKeys: false,
  strict: false,
  prettyErrors: false,
};

export interface ParsedObject {
  object: KubeObject;
  /** Zero-based index among the non-empty documents. */
  index: number;
  /** One-based line where the document's content starts. */
  line: number;
  /** The document's source text, from after its `---` line (comments kept) to the next document. */
  text: string;
  /** What kubectl refuses, or reads only laxly (duplicate keys), in the document: an error where it is rewritten. */
  problems: readonly ReadProblem[];
}

/**
 * Line numbers of a text for offsets asked in any order. The stream cut knows the line
 * where each document starts (anchors); lines are counted only inside the documents asked about.
 */
export class Lines {
  private readonly text: string;
  /** [offset, line] where documents start, in order. */
  private readonly anchors: [number, number][];
  private readonly indexes = new Map<number, number[]>();
  constructor(text: string, anchors: readonly [number, number][] = [[0, 1]]) {
    this.text = text;
    this.anchors = anchors.length > 0 && anchors[0]![0] === 0 ? [...anchors] : [[0, 1], ...anchors];
  }

  /** One-based line of an offset. */
  at(offset: number): number {
    let lo = 0;
    let hi = this.anchors.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.anchors[mid] as [number, number])[0] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const [start, line] = this.anchors[lo] as [number, number];
    const end = lo + 1 < this.anchors.length ? (this.anchors[lo + 1] as [number, number])[0] : this.text.length;
    let starts = this.indexes.get(lo);
    if (starts === undefined) {
      starts = [];
      for (let nl = this.text.indexOf('\n', start); nl >= 0 && nl < end; nl = this.text.indexOf('\n', nl + 1)) starts.push(nl + 1);
      this.indexes.set(lo, starts);
    }
    let a = 0;
    let b = starts.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if ((starts[mid] as number) <= offset) a = mid + 1;
      else b = mid;
    }
    return line + a;
  }
}

type Where = { source: string; document: number; line: number };

function yamlError(message: string, where: Where, line: number): DevError {
  return new DevError('INVALID_YAML', `invalid YAML: ${message.split('\n')[0]}`,
    'fix the YAML at that line (a linter such as yamllint shows the exact spot).', { ...where, line });
}

/** One document of a stream, parsed and read as kubectl reads it. Throws a located DevError when it cannot be read. */
export interface ReadDocument {
  value: unknown;
  problems: ReadProblem[];
  document: Document.Parsed;
  toInput: (offset: number) => number;
}

/** Parses the text of one document (input offsets from `base`, lines from `lines`). */
export function readChunk(text: string, base: number, lines: Lines, where: Where): ReadDocument {
  let toLocal = (offset: number) => offset;
  // Source tokens are only needed for !!binary (its base64 text); aliases only when there is a `*`.
  const options = { ...PARSE_OPTIONS, keepSourceTokens: text.includes('binary') };
  let document = parseDocument(text, options);
  if (document.errors.length > 0) {
    const reindented = reindentQuotedScalars(text);
    if (reindented) {
      const retry = parseDocument(reindented.text, options);
      if (retry.errors.length === 0) {
        toLocal = reindented.toInput;
        document = retry;
      }
    }
  }
  const toInput = (offset: number) => base + toLocal(offset);
  const problem = document.errors[0];
  if (problem) throw yamlError(problem.message, where, lines.at(toInput(problem.pos[0])));
  const read = readDocument(document, (offset) => lines.at(toInput(offset)), where, text.includes('*'));
  return { value: read.value, problems: read.problems, document, toInput };
}

/** The value of one document and its problems, without its document model. */
export interface ReadValue {
  value: unknown;
  problems: readonly ReadProblem[];
  /** Set when the library read it (the document was outside the fast reader's subset). */
  full?: ReadDocument;
}

/**
 * Reads one document as `readChunk` does, by src/core/yaml/fast.ts when the document is
 * in its subset (the same value, and no problems), else by `readChunk`.
 */
export function readChunkValue(text: string, base: number, lines: Lines, where: Where): ReadValue {
  const value = readFast(text);
  if (value !== undefined) return { value, problems: [] };
  const full = readChunk(text, base, lines, where);
  return { value: full.value, problems: full.problems, full };
}

/** Checks that a value read from a document looks like a Kubernetes object. */
export function checkObject(value: unknown, where: Where): KubeObject {
  if (!isPlainObject(value)) {
    const what = Array.isArray(value) ? 'a list' : value === null ? 'empty' : `a ${typeof value}`;
    throw new DevError('NOT_AN_OBJECT', `the document is ${what}, not a Kubernetes object`,
      'each document must be a mapping with apiVersion, kind and metadata.', where);
  }
  const missing = ['apiVersion', 'kind'].filter((key) => typeof value[key] !== 'string' || value[key] === '');
  if (missing.length > 0) {
    throw new DevError('NOT_AN_OBJECT', `the document has no ${missing.join(' or ')}, so it is not a Kubernetes object`,
      'each document must be a mapping with apiVersion, kind and metadata (as kubectl get -o yaml prints).', where);
  }
  checkMetadata(value as KubeObject, where);
  return value as KubeObject;
}

/** metadata must be a mapping, and labels and annotations must map strings to strings (null is no map at all). */
export function checkMetadata(value: KubeObject, where: Where & { path?: string }, prefix = ''): void {
  if (value.metadata !== undefined && value.metadata !== null && !isPlainObject(value.metadata)) {
    throw new DevError('NOT_AN_OBJECT', `${prefix}metadata is not a mapping`, 'metadata must hold name, namespace, labels and annotations.', { ...where, path: `${where.path ? `${where.path}.` : ''}metadata` });
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = (value.metadata as Record<string, unknown> | undefined | null)?.[field];
    if (map === undefined || map === null) continue;
    if (!isPlainObject(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      throw new DevError('NOT_AN_OBJECT', `${prefix}metadata.${field} must map strings to strings`,
        'quote values that YAML reads as numbers or booleans, for example "true" or "1".', { ...where, path: `${where.path ? `${where.path}.` : ''}metadata.${field}` });
    }
  }
}

/**
 * Refuses a document that is about to be rewritten when kubectl would refuse it, or
 * reads it only laxly (a duplicate key: which value did the author mean?).
 */
export function assertRewritable(problems: readonly ReadProblem[], where: Where & { object?: string; path?: string }): void {
  const problem = problems[0];
  if (!problem) return;
  const path = [where.path, problem.path].filter((p) => p !== undefined && p !== '').join('.');
  throw new DevError('INVALID_YAML', `invalid YAML in a document to rewrite: ${problem.message}`,
    problem.message.startsWith('duplicate key')
      ? 'remove one of the two keys: dev mode rewrites this document and will not guess which value was meant (documents it does not rewrite pass through).'
      : 'fix the value at that line: kubectl cannot read it either.',
    { ...where, line: problem.line, ...(path !== '' ? { path } : {}) });
}

/** The text after a document's `---` line: what a printer copies for it. */
function bodyOf(text: string, chunk: Chunk): string {
  if (chunk.content === chunk.start || !text.startsWith('---', chunk.start)) return text.slice(chunk.start, chunk.end);
  const nl = text.indexOf('\n', chunk.start);
  return nl < 0 || nl >= chunk.end ? '' : text.slice(nl + 1, chunk.end);
}

/**
 * Parses a YAML or JSON stream, every document, as kubectl reads it; empty documents are
 * skipped. Throws a located DevError on a document that cannot be read or is not an object.
 */
export function parseManifests(text: string, source: string): ParsedObject[] {
  const { documents, lines } = streamChunks(text, source);
  const parsed: ParsedObject[] = [];
  for (const doc of documents) {
    const where = { source, document: parsed.length, line: lines.at(doc.content) };
    const read = doc.read ?? readChunkValue(text.slice(doc.chunk.start, doc.chunk.end), doc.chunk.start, lines, where);
    if (read.value === null) continue;
    const object = checkObject(read.value, where);
    parsed.push({ object, index: parsed.length, line: where.line, text: bodyOf(text, doc.chunk), problems: read.problems });
  }
  return parsed;
}

export interface StreamDocument {
  chunk: Chunk;
  /** Offset of its first line of content. */
  content: number;
  /** Already parsed (streams with `...` or directives are parsed whole). */
  read?: ReadDocument;
}

/**
 * The documents of a stream that have content, cut without parsing them (see
 * src/core/yaml/scan.ts); the chunks of all documents, empty ones included, tile the text.
 */
export function streamChunks(text: string, source = '-'): { chunks: Chunk[]; documents: StreamDocument[]; lines: Lines } {
  const cut = cutStream(text);
  if (!cut.exact) {
    const lines = new Lines(text, cut.chunks.map((c) => [c.start, c.line]));
    return { chunks: cut.chunks, documents: cut.chunks.filter((c) => c.content >= 0).map((chunk) => ({ chunk, content: chunk.content })), lines };
  }
  const lines = new Lines(text);
  // Directives or `...`: only the parser knows where documents start; every document is parsed here.
  const lineCounter = new LineCounter();
  const all = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter });
  const docs = Array.isArray(all) ? all : [];
  const chunks: Chunk[] = [];
  const documents: StreamDocument[] = [];
  docs.forEach((document, i) => {
    const start = i === 0 ? 0 : document.range[0];
    const end = i + 1 < docs.length ? (docs[i + 1] as Document.Parsed).range[0] : text.length;
    const content = document.contents?.range?.[0] ?? -1;
    const chunk: Chunk = { start, end, line: lines.at(start), content: document.contents === null ? -1 : content, kind: undefined };
    chunks.push(chunk);
    if (chunk.content < 0) return;
    const where = { source, document: documents.length, line: lines.at(content) };
    const problem = document.errors[0];
    if (problem) throw yamlError(problem.message, where, lines.at(problem.pos[0]));
    const read = readDocument(document, (offset) => lines.at(offset), where, true);
    documents.push({ chunk, content, read: { ...read, document, toInput: (o) => o } });
  });
  if (chunks.length === 0) chunks.push({ start: 0, end: text.length, line: 1, content: -1, kind: null });
  return { chunks, documents, lines };
}

export type OutputFormat = 'yaml' | 'json';

/**
 * Prints objects as a YAML stream or as JSON (one object, or a `List` of several, as kubectl does).
 * Objects that are the very objects parsed from `origin` are copied from their source text.
 */
export function printManifests(objects: readonly KubeObject[], format: OutputFormat, origin: readonly ParsedObject[] = []): string {
  if (format === 'json') {
    const value = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    return `${toJson(value, 4)}\n`;
  }
  const byObject = new Map<KubeObject, string>(origin.map((p) => [p.object, p.text]));
  return objects
    .map((obj) => {
      const text = byObject.get(obj);
      return text === undefined ? printYaml(obj) : text.endsWith('\n') ? text : `${text}\n`;
    })
    .join('---\n');
}
