// One-line quoted scalars for the fast reader (fast.ts): single-quoted, and
// double-quoted with the library's escapes; anything else is left to the library. Pure.

const SQUOTE = 39;

/** The library's double-quoted escapes (resolve-flow-scalar.js), but for line breaks and tabs. */
const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
  N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029', ' ': ' ', '"': '"', '/': '/', '\\': '\\',
};
const HEX = /^[0-9a-fA-F]+$/;

/**
 * The quoted scalar whose opening quote is at `q`, on a line that ends at `eol`: its
 * value and the offset after its closing quote; undefined when it does not close on
 * that line or holds an escape outside the subset.
 */
export function readQuoted(t: string, q: number, eol: number): [string, number] | undefined {
  if (t.charCodeAt(q) === SQUOTE) {
    let out = '';
    let from = q + 1;
    for (;;) {
      const close = t.indexOf("'", from);
      if (close < 0 || close > eol) return undefined;
      if (t.charCodeAt(close + 1) === SQUOTE) {
        out += t.slice(from, close + 1);
        from = close + 2;
        continue;
      }
      return [out + t.slice(from, close), close + 1];
    }
  }
  const close = t.indexOf('"', q + 1);
  if (close < 0 || close > eol) return undefined;
  const slash = t.indexOf('\\', q + 1);
  if (slash < 0 || slash > close) return [t.slice(q + 1, close), close + 1];
  let out = t.slice(q + 1, slash);
  for (let i = slash; i < eol; i++) {
    const c = t[i] as string;
    if (c === '"') return [out, i + 1];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = t[++i] as string;
    const simple = ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const length = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = t.slice(i + 1, i + 1 + length);
      if (hex.length !== length || !HEX.test(hex)) return undefined;
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i += length;
    } else {
      return undefined;
    }
  }
  return undefined;
}
