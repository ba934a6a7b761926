// Documents for the fast reader's equivalence test (yaml-fast.test.ts): block YAML of the
// subset src/core/yaml/fast.ts reads (maps, sequences at both indentations, compact
// maps, plain and quoted scalars, literal and folded blocks, comments, `[]`, `{}`) with
// tricky scalars and keys, and seeded mutations of it that step just outside the subset
// (indentation off by one, stray indicators, tabs, anchors, flow, multi-line scalars).
// Seeded: the same seed gives the same documents.

import { prng } from '../render/fuzz.ts';

export const FAST_SEED = 0x66617374; // "fast"

const SCALARS = [
  'nginx', 'nginx:1.27', 'http://x:80/a', '--at', '-1', '-dash', 'a b  c', 'x#y', 'a,b', 'b]', 'x{y}', 'x ]', '=', '~', 'null', 'Null', 'nULL', '',
  'y', 'yes', 'on', 'off', 'NO', 'True', 'TrUe', '0644', '0o17', '0x1F', '0b11', '08', '09.5', '1_000', '1e400', '.inf', '-.Inf', '.nan', '.5', '1.0', '1e3',
  '9223372036854775807', '9223372036854775808', '18446744073709551615', '18446744073709551616', '9007199254740993', '10:30', '1:2:3.5', '2024-01-01',
  '"0o17"', "'yes'", '""', "''", "'it''s'", "'a''''b'", '"tab\\there"', '"uni\\u00e9"', '"\\x41\\x4a"', '"q \\" in"', '"back\\\\slash"', '"\\/"', '"\\0\\a\\b\\e\\f\\v"',
  '"\\N\\_\\L\\P"', '"\\ "', '"\\U0001F680"', '"\\uD800"', '"\\U00110000"', '"\\q"', '"\\x4"', '"a\\', "'#no'", '" lead and trail "', '"a: b"', '"a #b"',
  'é', '🚀 rocket', 'a:b', 'a: b', 'end:', 'a :b', '@at', '`tick', '%pct', '&anchor x', '*alias', '!tag x', '!!str 1', '? q', ': c', '- item', '-', '<<', '...x', '---x',
  '[]', '{}', '[a, b]', '{a: 1}', '[ ]', '"x" y', "'x'y", '"a"#c', 'x # comment', 'x #', 'a\tb', 'a\u00a0b', 'a\u2028b',
];

const KEYS = [
  'name', 'image', 'app.kubernetes.io/name', 'helm.sh/chart', 'a-b', '$x', '_y', 'x@y', 'a%b', 'a=b', 'a+b', 'yes', 'on', 'true', 'n', '1', '-1', '0x10', '017',
  '1.5', '1.50', '1e6', '1e3', '.inf', '__proto__', 'constructor', '"quoted"', "'single'", '"<<"', '<<', '~', 'null', '"a:b"', '"a\\tb"', "'it''s'", '"yes"', 'a b',
  '.dot', '...', '?q', '-k', 'k ', 'é', '18446744073709551615', '9223372036854775807',
  // managedFields keys, and other indicators inside keys
  'f:spec', 'k:{"name":"web"}', 'v:"x"', 'f:a:', 'a:b:c', 'a,b', 'a[0]', 'a{b}', "a'b", 'a"b', 'a:', 'a::b', 'a: b', '{a}', '[a]',
];

export function generateFastDocs(count: number, seed = FAST_SEED): string[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const chance = (p: number) => random() < p;

  const comment = (indent: number) => (chance(0.5) ? `${' '.repeat(indent)}# c${int(9)}` : chance(0.5) ? '' : ' '.repeat(int(6)));
  const trailing = () => (chance(0.1) ? ` # t${int(9)}` : chance(0.05) ? '  ' : '');

  function block(indent: number): string[] {
    const header = `${pick(['|', '>'])}${pick(['', '', '-', '+'])}${chance(0.05) ? String(1 + int(3)) : ''}${chance(0.1) ? ' # h' : ''}`;
    const m = indent + pick([1, 2, 2, 2, 3, 4]);
    const lines = [header];
    const n = 1 + int(4);
    for (let i = 0; i < n; i++) {
      const r = random();
      if (r < 0.12) lines.push('');
      else if (r < 0.17) lines.push(' '.repeat(int(m + 3)));
      else if (r < 0.24) lines.push(`${' '.repeat(m + 1 + int(2))}deeper ${int(9)}`);
      else if (r < 0.3) lines.push(`${' '.repeat(m)}# not a comment`);
      else lines.push(`${' '.repeat(m)}${pick(['alpha', 'key: value', '- item', '"q"', '10:30', 'trailing  ', 'x'])}`);
    }
    if (chance(0.2)) lines.push('');
    if (chance(0.1)) lines.push(`${' '.repeat(Math.max(0, m - 1))}# after`);
    return lines;
  }

  function value(indent: number, depth: number, inMap: boolean): { inline: string; lines: string[] } {
    const r = random();
    if (depth < 5 && r < 0.25) return { inline: '', lines: map(indent + pick([2, 2, 2, 4, 1, 3]), depth + 1) };
    if (depth < 5 && r < 0.4) return { inline: '', lines: seq(inMap && chance(0.6) ? indent : indent + pick([2, 2, 1, 4]), depth + 1) };
    if (r < 0.5) {
      const [head, ...rest] = block(indent);
      return { inline: head as string, lines: rest };
    }
    if (r < 0.53) return { inline: '', lines: [] };
    if (r < 0.55) return { inline: '', lines: [`${' '.repeat(indent + 2)}${pick(SCALARS)}`] };
    if (r < 0.57) return { inline: pick(SCALARS), lines: [`${' '.repeat(indent + pick([0, 1, 2]))}${pick(['more', '# c', '- x', 'k: v'])}`] };
    return { inline: pick(SCALARS) + trailing(), lines: [] };
  }

  function entry(prefix: string, indent: number, depth: number, inMap: boolean): string[] {
    const v = value(indent, depth, inMap);
    const out = [`${prefix}${v.inline === '' ? (chance(0.1) ? ' # e' : '') : ` ${v.inline}`}`, ...v.lines];
    if (chance(0.1)) out.push(comment(int(indent + 4)));
    return out;
  }

  function map(indent: number, depth: number, first = ''): string[] {
    const out: string[] = [];
    const n = 1 + int(4);
    for (let i = 0; i < n; i++) {
      const pad = i === 0 && first !== '' ? first : ' '.repeat(indent);
      out.push(...entry(`${pad}${chance(0.85) ? pick(KEYS.slice(0, 12)) : pick(KEYS)}:`, indent, depth, true));
    }
    return out;
  }

  function seq(indent: number, depth: number): string[] {
    const out: string[] = [];
    const n = 1 + int(3);
    for (let i = 0; i < n; i++) {
      const dash = `${' '.repeat(indent)}-`;
      const r = random();
      if (depth < 5 && r < 0.4) {
        const gap = pick([' ', ' ', '  ', '   ']);
        out.push(...map(indent + 1 + gap.length, depth + 1, `${dash}${gap}`));
      } else if (r < 0.45) {
        out.push(`${dash} - ${pick(SCALARS)}`);
      } else {
        out.push(...entry(dash, indent, depth, false));
      }
    }
    return out;
  }

  const MUTATIONS = [' ', '\n', ':', '-', '#', '"', "'", '|', '[', '{', '&a ', '*a', '!', '?', '\t', '\r', '\\', ' #', '- ', ': ', '\n  '];
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const lines = [...(chance(0.3) ? ['---'] : []), ...(chance(0.3) ? ['# Source: chart/templates/x.yaml'] : []), ...map(0, 0)];
    let text = `${lines.join('\n')}${chance(0.95) ? '\n' : ''}`;
    if (chance(0.4)) {
      const at = int(text.length + 1);
      text = chance(0.6) ? text.slice(0, at) + pick(MUTATIONS) + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
    }
    docs.push(text);
  }
  return docs;
}
