// A manifest stream cut into its documents, and the kind of each one, from the lines
// that start at column 0 only: no YAML document model of documents that render passes
// through. `---` at column 0 always starts a document (a document marker cannot
// stand inside a scalar); the keys of a top-level block mapping are its column-0
// lines. Anything this cannot tell for sure (a flow or indented document, a key with
// properties, `? ` keys, merge keys, two `kind:` lines, directives) is left to the
// full parse: the answer is then "uncertain", never a wrong kind. Pure.

export interface Chunk {
  /** Offset of the document's first character: its `---` line, or the stream's start. */
  start: number;
  /** Offset where the next document starts (or the stream's length). */
  end: number;
  /** One-based line of `start`. */
  line: number;
  /** Offset of the first line of content (not blank, not a comment, not the marker); -1 when there is none. */
  content: number;
  /** The kind from its `kind:` line; null when it has none; undefined when uncertain. */
  kind: string | null | undefined;
  /**
   * Where its top-level `apiVersion:` and `metadata:` keys and their values are (from the
   * key's line to the next column-0 line of content), when the kind is certain and each
   * key is there once: enough to decide whether render selects the document.
   */
  head?: { apiVersion: [number, number]; metadata: [number, number] };
}

export interface StreamCut {
  chunks: Chunk[];
  /**
   * True when the stream holds `...` or `%` directive lines: then only a YAML parser
   * knows where documents start, and every chunk must be parsed.
   */
  exact: boolean;
}

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const HASH = 35;

const isBlank = (c: number) => c === SPACE || c === TAB || c === CR || c === NL || Number.isNaN(c);

/** A plain, single-quoted or double-quoted kind value without escapes, or undefined. */
function kindValue(rest: string): string | undefined {
  let value = rest;
  const comment = value.search(/[ \t]#/);
  if (comment >= 0) value = value.slice(0, comment);
  value = value.trim();
  const plain = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
  if (plain.test(value)) return value;
  const quoted = /^(?:"([A-Za-z0-9._-]+)"|'([A-Za-z0-9._-]+)')$/.exec(value);
  return quoted ? (quoted[1] ?? quoted[2]) : undefined;
}

const KIND_KEY = /^(?:kind|"kind"|'kind')[ \t]*:(?:[ \t](.*)|)$/;
const HEAD_KEY = /^(apiVersion|metadata)[ \t]*:(?:[ \t]|\r?$)/;
const QUOTED_HEAD_KEY = /^["'](?:apiVersion|metadata)["']/;
// A block mapping starts with a key; anything else (flow, list, scalar, properties) is for the parser.
const MAPPING_KEY = /^(?:[A-Za-z0-9_$/.][^:#\r\n]*|"[^"\\\r\n]*"|'[^'\r\n]*')[ \t]*:(?:[ \t\r]|$)/;

/** A document being cut: what its column-0 lines have told so far. */
interface Open extends Chunk {
  kinds: number;
  uncertain: boolean;
  regions: Map<string, [number, number]>;
  counts: Map<string, number>;
  /** The head key whose region is still open (it runs to the next column-0 line of content). */
  open?: string;
}

function openChunk(start: number, end: number, line: number): Open {
  return { start, end, line, content: -1, kind: null, kinds: 0, uncertain: false, regions: new Map(), counts: new Map() };
}

function endRegion(doc: Open, at: number): void {
  if (doc.open === undefined) return;
  (doc.regions.get(doc.open) as [number, number])[1] = at;
  doc.open = undefined;
}

/** The finished chunk of `doc`, which ends at `end`. */
function closeChunk(doc: Open, end: number): Chunk {
  doc.end = end;
  endRegion(doc, end);
  const kind = doc.content < 0 ? null : doc.uncertain || doc.kinds > 1 ? undefined : doc.kind;
  const chunk: Chunk = { start: doc.start, end, line: doc.line, content: doc.content, kind };
  const apiVersion = doc.regions.get('apiVersion');
  const metadata = doc.regions.get('metadata');
  if (typeof kind === 'string' && apiVersion && metadata && doc.counts.get('apiVersion') === 1 && doc.counts.get('metadata') === 1 && !doc.counts.has('quoted')) chunk.head = { apiVersion, metadata };
  return chunk;
}

/** `---` or `...` followed by a blank, a line break or the end of the stream. */
function isMarker(text: string, at: number, marker: '---' | '...'): boolean {
  return text.startsWith(marker, at) && isBlank(text.charCodeAt(at + 3));
}

/** The document a `---` line starts. */
function markerLine(text: string, lineStart: number, lineEnd: number, lineNo: number): Open {
  const doc = openChunk(lineStart, text.length, lineNo);
  const rest = text.slice(lineStart + 3, lineEnd).trim();
  if (rest !== '' && !rest.startsWith('#')) {
    // `--- value`: content on the marker line.
    doc.content = lineStart;
    doc.uncertain = true;
  }
  return doc;
}

/** Opens the region of an `apiVersion:` or `metadata:` key; a quoted one makes the head unusable. */
function headKeyLine(text: string, doc: Open, lineStart: number, lineEnd: number): void {
  const key = HEAD_KEY.exec(text.slice(lineStart, Math.min(lineEnd, lineStart + 16)))?.[1]
    ?? (QUOTED_HEAD_KEY.test(text.slice(lineStart, lineStart + 16)) ? 'quoted' : undefined);
  if (key === undefined) return;
  doc.counts.set(key, (doc.counts.get(key) ?? 0) + 1);
  doc.regions.set(key, [lineStart, lineEnd]);
  doc.open = key;
}

/** Reads a `kind:` line; a quoted key with escapes could be `kind` in disguise. */
function kindLine(text: string, doc: Open, c: number, lineStart: number, lineEnd: number): void {
  const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
  const match = KIND_KEY.exec(line);
  if (match) {
    doc.kinds++;
    const value = kindValue(match[1] ?? '');
    if (value === undefined) doc.uncertain = true;
    else doc.kind = value;
  } else if (c === 34 && line.slice(0, line.indexOf('"', 1)).includes('\\')) {
    doc.uncertain = true;
  }
}

/** A column-0 line of content other than a marker or a directive: a top-level key, or something only the parser knows. */
function contentLine(text: string, doc: Open, c: number, lineStart: number, lineEnd: number): void {
  endRegion(doc, lineStart);
  if (c === 97 /* a */ || c === 109 /* m */ || c === 34 || c === 39) headKeyLine(text, doc, lineStart, lineEnd);
  if (doc.content < 0) {
    doc.content = lineStart;
    if (!MAPPING_KEY.test(text.slice(lineStart, Math.min(lineEnd, lineStart + 256)))) doc.uncertain = true;
  }
  if (c === 107 /* k */ || c === 34 /* " */ || c === 39 /* ' */) {
    kindLine(text, doc, c, lineStart, lineEnd);
  } else if (c === 63 /* ? */ || c === 38 /* & */ || c === 33 /* ! */ || c === 42 /* * */ || (c === 60 /* < */ && text.startsWith('<<', lineStart)) || c === 123 /* { */ || c === 91 /* [ */) {
    doc.uncertain = true;
  }
}

/** Cuts a stream into documents and reads each one's kind where that is certain. */
export function cutStream(text: string): StreamCut {
  const chunks: Chunk[] = [];
  let exact = false;
  let lineNo = 1;
  let current = openChunk(0, text.length, lineNo);
  let first = true;
  for (let i = 0; i < text.length || first; ) {
    const lineStart = first && text.charCodeAt(0) === 0xfeff ? 1 : i;
    first = false;
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl < 0 ? text.length : nl;
    const c = text.charCodeAt(lineStart);
    if (c === SPACE || c === TAB) {
      // Indented: part of the value of a top-level key, unless nothing came before it.
      if (current.content < 0 && !isBlankLine(text, lineStart, lineEnd)) {
        current.content = lineStart;
        current.uncertain = true;
      }
    } else if (c === 45 /* - */ && isMarker(text, lineStart, '---')) {
      if (lineStart > 0) chunks.push(closeChunk(current, lineStart));
      current = markerLine(text, lineStart, lineEnd, lineNo);
    } else if (c === 37 /* % */ || (c === 46 /* . */ && isMarker(text, lineStart, '...'))) {
      exact = true;
    } else if (c !== NL && c !== CR && c !== HASH && lineStart < text.length) {
      contentLine(text, current, c, lineStart, lineEnd);
    }
    lineNo++;
    if (nl < 0) break;
    i = nl + 1;
  }
  chunks.push(closeChunk(current, text.length));
  return { chunks, exact };
}

function isBlankLine(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === HASH) return true;
    if (c !== SPACE && c !== TAB && c !== CR) return false;
  }
  return true;
}
