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

/** Cuts a stream into documents and reads each one's kind where that is certain. */
export function cutStream(text: string): StreamCut {
  const chunks: Chunk[] = [];
  let exact = false;
  type Open = Chunk & { kinds: number; uncertain: boolean; regions: Map<string, [number, number]>; counts: Map<string, number>; open?: string };
  let lineNo = 1;
  const fresh = (start: number): Open => ({ start, end: text.length, line: lineNo, content: -1, kind: null, kinds: 0, uncertain: false, regions: new Map(), counts: new Map() });
  let current = fresh(0);
  const endRegion = (at: number) => {
    if (current.open === undefined) return;
    (current.regions.get(current.open) as [number, number])[1] = at;
    current.open = undefined;
  };
  const close = (end: number) => {
    current.end = end;
    endRegion(end);
    const kind = current.content < 0 ? null : current.uncertain || current.kinds > 1 ? undefined : current.kind;
    const chunk: Chunk = { start: current.start, end, line: current.line, content: current.content, kind };
    const apiVersion = current.regions.get('apiVersion');
    const metadata = current.regions.get('metadata');
    if (typeof kind === 'string' && apiVersion && metadata && current.counts.get('apiVersion') === 1 && current.counts.get('metadata') === 1 && !current.counts.has('quoted')) chunk.head = { apiVersion, metadata };
    chunks.push(chunk);
  };
  let first = true;
  for (let i = 0; i < text.length || first; ) {
    let lineStart = i;
    if (first && text.charCodeAt(0) === 0xfeff) lineStart = 1;
    first = false;
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl < 0 ? text.length : nl;
    const next = nl < 0 ? text.length : nl + 1;
    const c = text.charCodeAt(lineStart);
    if (c === SPACE || c === TAB) {
      // Indented: part of the value of a top-level key, unless nothing came before it.
      if (current.content < 0 && !isBlankLine(text, lineStart, lineEnd)) {
        current.content = lineStart;
        current.uncertain = true;
      }
    } else if (c === 45 /* - */ && text.startsWith('---', lineStart) && isBlank(text.charCodeAt(lineStart + 3))) {
      if (lineStart > 0) close(lineStart);
      current = fresh(lineStart);
      const rest = text.slice(lineStart + 3, lineEnd).trim();
      if (rest !== '' && !rest.startsWith('#')) {
        // `--- value`: content on the marker line.
        current.content = lineStart;
        current.uncertain = true;
      }
    } else if (c === 46 /* . */ && text.startsWith('...', lineStart) && isBlank(text.charCodeAt(lineStart + 3))) {
      exact = true;
    } else if (c === 37 /* % */) {
      exact = true;
    } else if (c !== NL && c !== CR && c !== HASH && lineStart < text.length) {
      endRegion(lineStart);
      if (c === 97 /* a */ || c === 109 /* m */ || c === 34 || c === 39) {
        const key = /^(apiVersion|metadata)[ \t]*:(?:[ \t]|\r?$)/.exec(text.slice(lineStart, Math.min(lineEnd, lineStart + 16)))?.[1]
          ?? (/^["'](?:apiVersion|metadata)["']/.test(text.slice(lineStart, lineStart + 16)) ? 'quoted' : undefined);
        if (key !== undefined) {
          current.counts.set(key, (current.counts.get(key) ?? 0) + 1);
          current.regions.set(key, [lineStart, lineEnd]);
          current.open = key;
        }
      }
      if (current.content < 0) {
        current.content = lineStart;
        // A block mapping starts with a key; anything else (flow, list, scalar, properties) is for the parser.
        if (!/^(?:[A-Za-z0-9_$/.][^:#\r\n]*|"[^"\\\r\n]*"|'[^'\r\n]*')[ \t]*:(?:[ \t\r]|$)/.test(text.slice(lineStart, Math.min(lineEnd, lineStart + 256)))) current.uncertain = true;
      }
      if (c === 107 /* k */ || c === 34 /* " */ || c === 39 /* ' */) {
        const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
        const match = KIND_KEY.exec(line);
        if (match) {
          current.kinds++;
          const value = kindValue(match[1] ?? '');
          if (value === undefined) current.uncertain = true;
          else current.kind = value;
        } else if (c === 34 && line.slice(0, line.indexOf('"', 1)).includes('\\')) {
          current.uncertain = true;
        }
      } else if (c === 63 /* ? */ || c === 38 /* & */ || c === 33 /* ! */ || c === 42 /* * */ || (c === 60 /* < */ && text.startsWith('<<', lineStart)) || c === 123 /* { */ || c === 91 /* [ */) {
        current.uncertain = true;
      }
    }
    i = next;
    lineNo++;
    if (nl < 0) break;
  }
  close(text.length);
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
