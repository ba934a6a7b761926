// A fast reader for the block-YAML subset that Helm and kubectl print (block mappings
// and sequences, plain and one-line quoted scalars, literal and simple folded blocks,
// comments, `[]` and `{}`), giving exactly what the `yaml` library + read.ts give for
// it. Anything outside the subset, anything unusual inside it and anything read.ts
// would report as a problem (duplicate keys, null keys, `.inf`) gives up: the caller
// then reads the document with the library, which reports errors and problems with
// their lines. When in doubt, it gives up. Pure.

import { readQuoted } from './fast-quoted.ts';
import { GoScalarError, jsonKeyOf, resolveScalar, scalarValue } from './go-scalars.ts';

/** Thrown inside the reader to give up; never escapes it. */
const GIVE_UP: unique symbol = Symbol('give up');

/** Nesting beyond this gives up (read.ts owns the depth error, at MAX_DEPTH). */
const DEPTH_LIMIT = 100;
/** Longer keys give up (the library refuses implicit keys over 1024 characters). */
const KEY_LIMIT = 1000;

const NL = 10;
const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const DQUOTE = 34;
const SQUOTE = 39;

/**
 * Characters where white space, line breaks or encodings are read in ways this reader
 * does not model (tabs, CR, NEL, U+2028/9, other Unicode spaces, a BOM, controls): the
 * library reads such documents.
 */
const UNUSUAL = /[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** Characters a plain key may hold: the common ones of Kubernetes keys only. */
const KEY_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/$+@=%{}[],"\'') KEY_CHAR[c.charCodeAt(0)] = 1;
/** Characters a plain key may start with. */
const KEY_FIRST = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/$') KEY_FIRST[c.charCodeAt(0)] = 1;
/** Characters a plain value cannot start with (indicators); `-` is handled apart. */
const NOT_PLAIN_FIRST = new Uint8Array(128);
for (const c of '?:,[]{}#&*!|>\'"%@`') NOT_PLAIN_FIRST[c.charCodeAt(0)] = 1;

function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

class FastReader {
  private readonly t: string;
  private readonly len: number;
  /** Start of the line to read next. */
  private p = 0;
  /** The current significant line: its start, indentation (-1 at the end) and first character. */
  private lineStart = 0;
  private indent = -1;
  private cur = 0;

  constructor(text: string) {
    this.t = text;
    this.len = text.length;
  }

  private lineEnd(i: number): number {
    const nl = this.t.indexOf('\n', i);
    return nl < 0 ? this.len : nl;
  }

  /** Moves to the next line that is not blank or a comment. */
  private next(): void {
    const t = this.t;
    for (;;) {
      let q = this.p;
      while (t.charCodeAt(q) === SPACE) q++;
      if (q >= this.len) {
        this.indent = -1;
        this.cur = this.len;
        return;
      }
      const c = t.charCodeAt(q);
      if (c === NL) {
        this.p = q + 1;
      } else if (c === HASH) {
        this.p = this.lineEnd(q) + 1;
      } else {
        this.lineStart = this.p;
        this.indent = q - this.p;
        this.cur = q;
        return;
      }
    }
  }

  /** Past the current line (from `i` on it). */
  private nextLineFrom(i: number): void {
    this.p = this.lineEnd(i) + 1;
    this.next();
  }

  /** After a scalar ending at `end`: only spaces or a comment may follow on its line, and nothing may be indented deeper than `n` below it. */
  private afterScalar(end: number, n: number): void {
    const t = this.t;
    let i = end;
    while (t.charCodeAt(i) === SPACE) i++;
    if (i < this.len) {
      const c = t.charCodeAt(i);
      if (c === HASH) {
        if (i === end) throw GIVE_UP;
      } else if (c !== NL) {
        throw GIVE_UP;
      }
    }
    this.nextLineFrom(i);
    if (this.indent > n) throw GIVE_UP;
  }

  read(): Record<string, unknown> {
    const t = this.t;
    if (t.startsWith('---')) {
      const c = t.charCodeAt(3);
      if (c !== SPACE && c !== NL && this.len > 3) throw GIVE_UP;
      let i = 3;
      while (t.charCodeAt(i) === SPACE) i++;
      if (i < this.len && t.charCodeAt(i) !== NL && !(t.charCodeAt(i) === HASH && i > 3)) throw GIVE_UP;
      this.p = this.lineEnd(i) + 1;
    }
    this.next();
    if (this.indent !== 0) throw GIVE_UP;
    const value = this.map(0, this.cur, 1);
    // Anything left (a less indented line) is not part of the mapping.
    if ((this.indent as number) !== -1) throw GIVE_UP;
    return value;
  }

  /** End of a plain key starting at `q` (at its `:`), or -1 when `q` starts no plain key of the subset. */
  private plainKeyEnd(q: number): number {
    const t = this.t;
    const first = t.charCodeAt(q);
    if (first >= 128 || KEY_FIRST[first] !== 1) return -1;
    for (let i = q + 1; i - q <= KEY_LIMIT; i++) {
      const c = t.charCodeAt(i);
      if (c < 128 && KEY_CHAR[c] === 1) continue;
      if (c !== COLON) return -1;
      // A `:` inside a key (managedFields' `f:spec`) is followed by more of it.
      const after = t.charCodeAt(i + 1);
      if (after === SPACE || after === NL || i + 1 >= this.len) return i;
    }
    return -1;
  }

  /** A one-line quoted scalar at `q`: its value and the offset after its closing quote. */
  private quoted(q: number): [string, number] {
    const read = readQuoted(this.t, q, this.lineEnd(q));
    if (read === undefined) throw GIVE_UP;
    return read;
  }

  /** The key at `q` (plain or quoted, then `:`); leaves `this.p` after the `:`. */
  private key(q: number): string {
    const t = this.t;
    const c = t.charCodeAt(q);
    let text: string;
    let plain = false;
    if (c === DQUOTE || c === SQUOTE) {
      const [value, end] = this.quoted(q);
      const after = t.charCodeAt(end + 1);
      if (t.charCodeAt(end) !== COLON || !(after === SPACE || after === NL || end + 1 >= this.len) || end - q > KEY_LIMIT) throw GIVE_UP;
      text = value;
      this.p = end + 1;
    } else {
      const end = this.plainKeyEnd(q);
      if (end < 0) throw GIVE_UP;
      // `...` at the start of a line ends a document.
      if (c === 46 && this.indent === 0) throw GIVE_UP;
      text = t.slice(q, end);
      plain = true;
      this.p = end + 1;
    }
    let key: string | undefined;
    try {
      key = jsonKeyOf(resolveScalar(text, '', plain));
    } catch (error) {
      if (error instanceof GoScalarError) throw GIVE_UP;
      throw error;
    }
    if (key === undefined) throw GIVE_UP;
    return key;
  }

  /** A block mapping whose keys stand at column `n`; its first key is at `q`. */
  private map(n: number, q: number, depth: number): Record<string, unknown> {
    if (depth > DEPTH_LIMIT) throw GIVE_UP;
    const out: Record<string, unknown> = {};
    for (let at = q; ;) {
      const key = this.key(at);
      // A duplicate is a problem read.ts reports.
      if (Object.hasOwn(out, key)) throw GIVE_UP;
      setKey(out, key, this.value(n, depth + 1, true));
      if (this.indent !== n) {
        if (this.indent > n) throw GIVE_UP;
        return out;
      }
      at = this.cur;
    }
  }

  /** A block sequence whose `-` stand at column `n`. */
  private seq(n: number, depth: number): unknown[] {
    if (depth > DEPTH_LIMIT) throw GIVE_UP;
    const t = this.t;
    const out: unknown[] = [];
    for (;;) {
      const dash = this.cur;
      const after = t.charCodeAt(dash + 1);
      if (after !== SPACE && after !== NL && dash + 1 < this.len) throw GIVE_UP;
      let q = dash + 1;
      while (t.charCodeAt(q) === SPACE) q++;
      const c = t.charCodeAt(q);
      if (q < this.len && c !== NL && c !== HASH && (this.plainKeyEnd(q) >= 0 || ((c === DQUOTE || c === SQUOTE) && this.isQuotedKey(q)))) {
        out.push(this.map(q - this.lineStart, q, depth + 1));
      } else {
        this.p = dash + 1;
        out.push(this.value(n, depth + 1, false));
      }
      if (this.indent !== n || t.charCodeAt(this.cur) !== DASH) {
        if (this.indent > n) throw GIVE_UP;
        return out;
      }
    }
  }

  private isQuotedKey(q: number): boolean {
    const read = readQuoted(this.t, q, this.lineEnd(q));
    return read !== undefined && this.t.charCodeAt(read[1]) === COLON;
  }

  private isDash(i: number): boolean {
    if (this.t.charCodeAt(i) !== DASH) return false;
    const after = this.t.charCodeAt(i + 1);
    return after === SPACE || after === NL || i + 1 >= this.len;
  }

  /**
   * The value after a key's `:` or an entry's `-` (`this.p` is just after it), for a
   * collection at column `n`; leaves the reader on the next significant line.
   */
  private value(n: number, depth: number, inMap: boolean): unknown {
    const t = this.t;
    let q = this.p;
    while (t.charCodeAt(q) === SPACE) q++;
    const c = t.charCodeAt(q);
    if (q >= this.len || c === NL || c === HASH) {
      this.nextLineFrom(q);
      if (this.indent > n) {
        if (this.isDash(this.cur)) return this.seq(this.indent, depth);
        return this.map(this.indent, this.cur, depth);
      }
      if (inMap && this.indent === n && this.isDash(this.cur)) return this.seq(n, depth);
      return null;
    }
    if (c === DQUOTE || c === SQUOTE) {
      const [value, end] = this.quoted(q);
      this.afterScalar(end, n);
      return value;
    }
    if (c === 124 /* | */ || c === 62 /* > */) return this.block(q, n);
    if (c === 91 /* [ */ || c === 123 /* { */) {
      if (t.charCodeAt(q + 1) !== c + 2) throw GIVE_UP;
      this.afterScalar(q + 2, n);
      return c === 91 ? [] : {};
    }
    if (c < 128 && NOT_PLAIN_FIRST[c] === 1) throw GIVE_UP;
    if (c === DASH && this.isDash(q)) throw GIVE_UP;
    return this.plain(q, n);
  }

  /** A one-line plain scalar at `q`. */
  private plain(q: number, n: number): unknown {
    const t = this.t;
    const eol = this.lineEnd(q);
    let end = eol;
    for (let i = q + 1; i < eol; i++) {
      const c = t.charCodeAt(i);
      if (c === HASH && t.charCodeAt(i - 1) === SPACE) {
        end = i - 1;
        break;
      }
      // `: ` or a final `:` would make it a mapping key.
      if (c === COLON && (i + 1 === eol || t.charCodeAt(i + 1) === SPACE)) throw GIVE_UP;
    }
    while (t.charCodeAt(end - 1) === SPACE) end--;
    const text = t.slice(q, end);
    this.nextLineFrom(eol);
    if (this.indent > n) throw GIVE_UP;
    let scalar;
    try {
      scalar = resolveScalar(text, '', true);
    } catch (error) {
      if (error instanceof GoScalarError) throw GIVE_UP;
      throw error;
    }
    // Not a number JSON can hold: a problem read.ts reports.
    if (scalar.type === 'float' && !Number.isFinite(scalar.value)) throw GIVE_UP;
    return scalarValue(scalar);
  }

  /** A literal or folded block scalar whose header is at `q`, under a collection at column `n`. */
  private block(q: number, n: number): string {
    const t = this.t;
    const folded = t.charCodeAt(q) === 62;
    let i = q + 1;
    let chomp = 0; // -1 strip, 0 clip, 1 keep
    const ind = t.charCodeAt(i);
    if (ind === DASH || ind === 43 /* + */) {
      chomp = ind === DASH ? -1 : 1;
      i++;
    }
    const h = t.charCodeAt(i);
    if (h !== SPACE && h !== NL) throw GIVE_UP;
    while (t.charCodeAt(i) === SPACE) i++;
    const hc = t.charCodeAt(i);
    if (hc === HASH ? t.charCodeAt(i - 1) !== SPACE : hc !== NL) throw GIVE_UP;
    let ls = this.lineEnd(i) + 1;
    if (ls > this.len) throw GIVE_UP;
    let m = -1;
    let leading = -1;
    let empty = 0;
    let out = '';
    let lines = 0;
    for (;;) {
      if (ls >= this.len) break;
      let s = ls;
      while (t.charCodeAt(s) === SPACE) s++;
      const sp = s - ls;
      if (s >= this.len) {
        // Spaces, then the end without a line break.
        if (sp > 0) throw GIVE_UP;
        break;
      }
      if (t.charCodeAt(s) === NL) {
        if (m < 0) leading = Math.max(leading, sp);
        else if (sp > m) throw GIVE_UP;
        empty++;
        ls = s + 1;
        continue;
      }
      if (m < 0) {
        m = sp;
        if (m <= n || leading > m || (folded && empty > 0)) throw GIVE_UP;
      }
      if (sp < m) break;
      if (folded && sp > m) throw GIVE_UP;
      const eol = t.indexOf('\n', s);
      // A last line without a line break.
      if (eol < 0) throw GIVE_UP;
      const line = t.slice(ls + m, eol);
      if (lines === 0) out = folded ? line : '\n'.repeat(empty) + line;
      else if (folded) out += (empty === 0 ? ' ' : '\n'.repeat(empty)) + line;
      else out += '\n'.repeat(empty + 1) + line;
      lines++;
      empty = 0;
      ls = eol + 1;
    }
    if (lines === 0 || (chomp === 1 && empty > 0)) throw GIVE_UP;
    this.p = ls;
    this.next();
    if (this.indent > n) throw GIVE_UP;
    return chomp === -1 ? out : `${out}\n`;
  }
}

/**
 * The value kubectl reads from one document's text when the document is in the subset
 * this reader knows and read.ts would find no problem in it; undefined otherwise (the
 * caller reads it with the library).
 */
export function readFast(text: string): Record<string, unknown> | undefined {
  if (UNUSUAL.test(text)) return undefined;
  try {
    return new FastReader(text).read();
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
}
