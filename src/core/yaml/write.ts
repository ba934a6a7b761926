// Objects → YAML that a Go reader (kubectl, Helm, kustomize) reads back as the same
// values, in kubectl's layout (two-space indentation, sequences not indented under
// their key, no line folding). A string is written plain only when every reader takes
// it for that string (go-yaml v2, v3 and YAML 1.1/1.2 readers: `"0o17"`, `"on"`,
// `"1e3"`, `"10:30"`, `"<<"` as a key stay quoted); multi-line strings become literal
// blocks where that is exact, double-quoted with escapes otherwise. The values are
// JSON-like (what src/core/yaml/read.ts reads and the rewrite makes), so this is a
// small direct printer: the `yaml` library's node model made printing the slowest
// part of render (docs/decisions.md). Checked against go-yaml by the differential test. Pure.

import { plainIsNotString } from './go-scalars.ts';

/** Characters go-yaml will not read raw in a scalar (outside printable Unicode), or reads as line breaks. */
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|\p{Cs}/u;
const NEEDS_ESCAPE_ALL = new RegExp(NEEDS_ESCAPE.source, 'gu');
/** First characters that make a plain scalar something else (indicators, white space). */
const INDICATOR_START = /^[\s,[\]{}#&*!|>'"%@`]|^[-?:](?:\s|$)|^(?:---|\.\.\.)/;

function canBePlain(text: string, isKey: boolean): boolean {
  if (text === '' || INDICATOR_START.test(text) || /\s$/.test(text)) return false;
  if (text.includes(': ') || text.includes(' #') || text.endsWith(':') || /[\t\n\r]/.test(text) || NEEDS_ESCAPE.test(text)) return false;
  if (isKey && (text === '<<' || text.length > 1000)) return false;
  return !plainIsNotString(text);
}

function doubleQuoted(text: string): string {
  return JSON.stringify(text).replace(NEEDS_ESCAPE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function quoted(text: string): string {
  // Single quotes where that needs no escape but '' (JSON in annotations reads better so).
  if (text.includes('"') && !text.includes("'") && !/[\n\r\t\\]/.test(text) && !NEEDS_ESCAPE.test(text)) return `'${text}'`;
  return doubleQuoted(text);
}

/** A literal block (`|`, `|-`, `|+`) for a multi-line string, or undefined when one would not read back exactly. */
function literal(text: string, indent: number): string | undefined {
  if (/[\r\t]/.test(text) || NEEDS_ESCAPE.test(text)) return undefined;
  const lines = text.split('\n');
  let trailing = 0;
  while (trailing < lines.length - 1 && lines[lines.length - 1 - trailing] === '') trailing++;
  const body = lines.slice(0, lines.length - trailing);
  const first = body.findIndex((l) => l !== '');
  // The first non-empty line sets the block's indentation: it must not start with a space.
  if (first < 0 || body[first]!.startsWith(' ')) return undefined;
  const chomp = trailing === 1 ? '' : trailing === 0 ? '-' : '+';
  const pad = ' '.repeat(indent);
  const content = lines.slice(0, trailing === 0 ? lines.length : lines.length - 1).map((l) => (l === '' ? '' : pad + l));
  return `|${chomp}\n${content.join('\n')}`;
}

function scalar(value: unknown, indent: number): string {
  switch (typeof value) {
    case 'string':
      if (canBePlain(value, false)) return value;
      return (value.includes('\n') ? literal(value, indent) : undefined) ?? quoted(value);
    case 'number':
      if (Number.isFinite(value)) return String(value);
      return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return 'null';
  }
}

const key = (k: string) => (canBePlain(k, true) ? k : quoted(k));

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function emitMap(map: Record<string, unknown>, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const k of Object.keys(map)) {
    const v = map[k];
    if (v === undefined) continue;
    const head = `${pad}${key(k)}:`;
    if (isMap(v) && Object.keys(v).some((x) => v[x] !== undefined)) {
      out.push(head);
      emitMap(v, indent + 2, out);
    } else if (Array.isArray(v) && v.length > 0) {
      out.push(head);
      emitSeq(v, indent, out);
    } else {
      out.push(`${head} ${isMap(v) ? '{}' : Array.isArray(v) ? '[]' : scalar(v, indent + 2)}`);
    }
  }
}

function emitSeq(seq: readonly unknown[], indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of seq) {
    const nested = (isMap(item) && Object.keys(item).some((x) => item[x] !== undefined)) || (Array.isArray(item) && item.length > 0);
    if (!nested) {
      out.push(`${pad}- ${isMap(item) ? '{}' : Array.isArray(item) ? '[]' : scalar(item, indent + 2)}`);
      continue;
    }
    // The item's first line goes on the `- ` line.
    const at = out.length;
    if (isMap(item)) emitMap(item, indent + 2, out);
    else emitSeq(item as unknown[], indent + 2, out);
    out[at] = `${pad}- ${(out[at] as string).slice(indent + 2)}`;
  }
}

/** One object as a YAML document (no `---`), ending in a newline. */
export function printYaml(value: unknown): string {
  const out: string[] = [];
  if (isMap(value) && Object.keys(value).length > 0) emitMap(value, 0, out);
  else if (Array.isArray(value) && value.length > 0) emitSeq(value, 0, out);
  else out.push(isMap(value) ? '{}' : Array.isArray(value) ? '[]' : scalar(value, 2));
  return `${out.join('\n')}\n`;
}
