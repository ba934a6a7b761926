// go-yaml reads a quoted scalar up to its closing quote whatever the indentation of
// its continuation lines; the `yaml` library, as the YAML spec says, ends it at the
// first line indented too little ("Missing closing 'quote"). Helm 4 writes such
// scalars (a closing quote at column 0) when it re-serialises documents for a
// post-renderer. The continuation lines' leading white space is not part of the value
// (line folding drops it), so indenting them changes nothing that any reader sees:
// that is what this does, before the document is parsed, with a map back to the
// input's offsets. Pure.

import { Lexer } from 'yaml';

export interface Reindented {
  text: string;
  /** The input offset of an offset in `text`. */
  toInput: (offset: number) => number;
}

/** The offset just after the closing quote of the quoted scalar opened at `open`, as go-yaml scans it; -1 when unclosed. */
function closingQuote(text: string, open: number): number {
  const quote = text[open];
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quote === '"') {
      i++;
    } else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i + 1;
    } else if (c === '\n' && /^(?:---|\.\.\.)(?:[ \t\r\n]|$)/.test(text.slice(i + 1, i + 5))) {
      return -1;
    }
  }
  return -1;
}

/** True when a quoted-scalar token as the lexer cut it lacks its closing quote. */
function unterminated(token: string): boolean {
  const quote = token[0];
  for (let i = 1; i < token.length; i++) {
    const c = token[i];
    if (c === '\\' && quote === '"') i++;
    else if (c === quote) {
      if (quote === "'" && token[i + 1] === "'") i++;
      else return false;
    }
  }
  return true;
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/**
 * The document with the continuation lines of go-yaml-style quoted scalars indented
 * as far as their opening quote, or undefined when it has none.
 */
export function reindentQuotedScalars(text: string): Reindented | undefined {
  // Insertions as [offset in the input, spaces added there], in order.
  const insertions: [number, number][] = [];
  let out = '';
  let copied = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    // The lexer's control tokens (document start, flow end, scalar) are not in the source.
    if (token === '\x02' || token === '\x18' || token === '\x1f') continue;
    const at = offset;
    offset += token.length;
    if ((token[0] !== "'" && token[0] !== '"') || !unterminated(token)) continue;
    if (at < copied) continue;
    const end = closingQuote(text, at);
    if (end < 0) return undefined;
    const indent = column(text, at);
    out += text.slice(copied, at);
    copied = at;
    for (let nl = text.indexOf('\n', at); nl >= 0 && nl < end; nl = text.indexOf('\n', nl + 1)) {
      const lineStart = nl + 1;
      let spaces = 0;
      while (text[lineStart + spaces] === ' ') spaces++;
      const c = text[lineStart + spaces];
      if (spaces >= indent || c === '\n' || c === '\r') continue;
      out += text.slice(copied, lineStart) + ' '.repeat(indent - spaces);
      insertions.push([lineStart, indent - spaces]);
      copied = lineStart;
    }
    // The lexer's tokens after the cut are meaningless; lex the rest as it is.
    return finish(out + text.slice(copied), insertions);
  }
  return undefined;
}

function finish(once: string, insertions: [number, number][]): Reindented {
  // Several such scalars: repeat on the result, composing the offset maps.
  const again = reindentQuotedScalars(once);
  const map = (offset: number): number => {
    let shift = 0;
    let outputPos = 0;
    let inputPos = 0;
    for (const [inputAt, count] of insertions) {
      outputPos += inputAt - inputPos;
      if (offset < outputPos) break;
      if (offset < outputPos + count) return inputAt;
      shift += count;
      outputPos += count;
      inputPos = inputAt;
    }
    return offset - shift;
  };
  if (again === undefined) return { text: once, toInput: map };
  return { text: again.text, toInput: (offset) => map(again.toInput(offset)) };
}
