// Manifest streams in and out with the `yaml` library: multi-document YAML or JSON,
// each object remembering where it came from (for errors) and its parsed document
// (so objects that pass through unchanged keep their comments and key order).

import { Document, LineCounter, parseAllDocuments, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { DevError } from './errors.ts';
import { isPlainObject, type KubeObject } from './objects.ts';

// Kubernetes reads YAML the YAML 1.1 way (sigs.k8s.io/yaml): `mode: 0644` is octal.
// Unquoted timestamps stay strings, as they do for kubectl (only typed Go fields parse them).
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  uniqueKeys: true,
  prettyErrors: false,
  customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:timestamp'),
};
// Printed the way kubectl prints: sequences not indented under their key, no line folding.
const PRINT_OPTIONS = { lineWidth: 0, indentSeq: false, flowCollectionPadding: false } as const;
/** Limits alias expansion ("billion laughs"): a manifest never needs more. */
const MAX_ALIAS_COUNT = 1000;

export interface ParsedObject {
  object: KubeObject;
  /** Zero-based index among the non-empty documents. */
  index: number;
  /** One-based line where the document's content starts. */
  line: number;
  /** The parsed document, used to print the object unchanged. */
  document: Document.Parsed;
}

function lineOf(counter: LineCounter, offset: number): number {
  return counter.linePos(offset).line;
}

/** Checks that a parsed value looks like a Kubernetes object. */
function checkObject(value: unknown, where: { source: string; document: number; line: number }): KubeObject {
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
  if (value.metadata !== undefined && !isPlainObject(value.metadata)) {
    throw new DevError('NOT_AN_OBJECT', 'metadata is not a mapping', 'metadata must hold name, namespace, labels and annotations.', { ...where, path: 'metadata' });
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = (value.metadata as Record<string, unknown> | undefined)?.[field];
    if (map === undefined || map === null) continue;
    if (!isPlainObject(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      throw new DevError('NOT_AN_OBJECT', `metadata.${field} must map strings to strings`,
        'quote values that YAML reads as numbers or booleans, for example "true" or "1".', { ...where, path: `metadata.${field}` });
    }
  }
  return value as KubeObject;
}

/** Parses a YAML or JSON stream; empty documents are skipped. Throws a located DevError on bad input. */
export function parseManifests(text: string, source: string): ParsedObject[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
  if (!Array.isArray(documents)) {
    // The `yaml` library returns an EmptyStream for input with no documents.
    return [];
  }
  const parsed: ParsedObject[] = [];
  for (const document of documents) {
    const problem = document.errors[0];
    const start = document.contents?.range?.[0] ?? document.range[0];
    const where = { source, document: parsed.length, line: lineOf(lineCounter, start) };
    if (problem) {
      const line = problem.linePos?.[0]?.line ?? lineOf(lineCounter, problem.pos[0]);
      throw new DevError('INVALID_YAML', `invalid YAML: ${problem.message.split('\n')[0]}`,
        'fix the YAML at that line (a linter such as yamllint shows the exact spot).', { ...where, line });
    }
    if (document.contents === null) continue;
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      throw new DevError('INVALID_YAML', `invalid YAML: ${(error as Error).message.split('\n')[0]}`,
        'remove the alias loop or the excessive aliases from the document.', where);
    }
    // `---` at the end, or a document of comments only: nothing to carry.
    if (value === null || value === undefined) continue;
    parsed.push({ object: checkObject(value, where), index: parsed.length, line: where.line, document });
  }
  return parsed;
}

export type OutputFormat = 'yaml' | 'json';

/**
 * Prints objects as a YAML stream or as JSON (one object, or a `List` of several, as kubectl does).
 * Objects that are the very objects parsed from `origin` print from their document, comments and all.
 */
export function printManifests(objects: readonly KubeObject[], format: OutputFormat, origin: readonly ParsedObject[] = []): string {
  if (format === 'json') {
    const value = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    return `${JSON.stringify(value, null, 4)}\n`;
  }
  const byObject = new Map<KubeObject, Document.Parsed>(origin.map((p) => [p.object, p.document]));
  return objects
    .map((obj) => {
      const document = byObject.get(obj);
      const text = document ? document.toString({ ...PRINT_OPTIONS, directives: false }) : new Document(obj, YAML_OPTIONS).toString(PRINT_OPTIONS);
      return text.startsWith('---') ? text.replace(/^---\s*\n?/, '') : text;
    })
    .map((text) => (text.endsWith('\n') ? text : `${text}\n`))
    .join('---\n');
}
