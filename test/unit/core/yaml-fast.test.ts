// The fast reader of the block-YAML subset (src/core/yaml/fast.ts): wherever it reads a
// document, it reads what the library path (readChunk: `yaml` + read.ts) reads, with
// the same key order and number types and no problems; everything outside its subset
// falls back, so errors and problems keep their messages and lines.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import { Lines, readChunk, readChunkValue } from '../../../src/core/manifests.ts';
import { readFast } from '../../../src/core/yaml/fast.ts';
import { cutStream } from '../../../src/core/yaml/scan.ts';
import { prng } from '../render/fuzz.ts';
import { generateFastDocs } from './yaml-fast-gen.ts';
import { generateDiffCases } from './yaml-gen.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const where = { source: 's', document: 0, line: 1 };
const slow = (text: string) => readChunk(text, 0, new Lines(text), where);
/** Key order and bigint kept. */
const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

/** undefined when the fast reader agrees with the library path (or falls back); else what differs. */
function disagreement(text: string): string | undefined {
  const fast = readFast(text);
  if (fast === undefined) return undefined;
  let old;
  try {
    old = slow(text);
  } catch (error) {
    return `the library path refuses it: ${(error as Error).message}`;
  }
  if (old.problems.length > 0) return `the library path finds problems: ${JSON.stringify(old.problems)}`;
  if (!isDeepStrictEqual(fast, old.value) || show(fast) !== show(old.value)) return `fast ${show(fast)} vs ${show(old.value)}`;
  return undefined;
}

function documentsOf(text: string): string[] {
  return cutStream(text).chunks.filter((c) => c.content >= 0).map((c) => text.slice(c.start, c.end));
}

describe('the fast reader', () => {
  it('reads the block subset as the library path does', () => {
    const cases: [string, unknown][] = [
      ['a: 1\nb: x\n', { a: 1, b: 'x' }],
      ['---\n# c\na:\n  b: yes\n  c: "0o17"\n  d: \'it\'\'s\'\n', { a: { b: true, c: '0o17', d: "it's" } }],
      ['a:\n- 1\n- x: 2\n  y: [] # t\n-\n- {}\nb: 9223372036854775807\n', { a: [1, { x: 2, true: [] }, null, {}], b: 9223372036854775807n }],
      ['a:\n  - "\\x41\\u00e9\\t\\"\\\\"\n  -   k: v\n      l: w\n', { a: ['Aé\t"\\', { k: 'v', l: 'w' }] }],
      ['s: |\n  one\n\n  # two\nf: >-\n  a\n  b\n\n  c\nk: |+\n  x\nz: ~\n', { s: 'one\n\n# two\n', f: 'a b\nc', k: 'x\n', z: null }],
      ['yes: 1\n0x10: 2\n1.5: 3\n1e6: 4\n"<<": 5\n__proto__: 6\n', { true: 1, 16: 2, '1.5': 3, '1e+06': 4, '<<': 5, ['__proto__']: 6 }],
      ['f:spec:\n  k:{"name":"web"}: {}\n  a:b: c\n', { 'f:spec': { 'k:{"name":"web"}': {}, 'a:b': 'c' } }],
      ['args: [] \ncommand:\n- sh\n- -c\n- echo http://x:80 a#b # c\n', { args: [], command: ['sh', '-c', 'echo http://x:80 a#b'] }],
    ];
    for (const [text, want] of cases) {
      expect(disagreement(text), text).toBeUndefined();
      const fast = readFast(text);
      expect(fast, text).toBeDefined();
      expect(show(fast)).toBe(show(want));
    }
  });

  it('falls back for anything outside the subset, and for what the library path would report', () => {
    const outside = [
      // anchors, aliases, merge keys, tags
      'a: &x 1\nb: *x\n', '<<: {a: 1}\n', 'a: !!str 1\n', 'a: !custom x\n', 'a: !!binary aGVsbG8=\n',
      // flow collections with content, complex keys, directives, document markers
      'a: [x, y]\n', 'a: {b: 1}\n', '? a\n: b\n', '%YAML 1.1\n---\na: 1\n', '--- a: 1\n', '{"a": 1}\n', '[1]\n',
      // tabs, CR, NEL, U+2028, a BOM, NBSP
      'a:\tb\n', 'a: b\r\n', 'a: b\u0085c\n', 'a: "b\u2028c"\n', '\ufeffa: 1\n', 'a: b\u00a0\n',
      // multi-line scalars, indentation indicators, Helm 4's quotes, keep-chomping with trailing lines
      'a: b\n  c\n', 'a: "b\n  c"\n', "a: 'first\n\n  second\n'\n", 'a: |2\n   x\n', 'a: |+\n  x\n\nb: 1\n', 'a: >\n  x\n    more\n',
      // problems: duplicates (yes and on too), null and uint64 keys, non-JSON floats
      'a: 1\na: 2\n', 'yes: 1\non: 2\n', '~: 1\n', '18446744073709551615: 1\n', 'a: .inf\n', 'a: [.nan]\n',
      // errors
      'a: b: c\n', 'a:\n  - x\n  b: 1\n', 'a: "x" y\n', 'a: |\n  x', '  a: 1\n', 'a: 1\n b: 2\n',
      // a key the library refuses (longer than 1024 characters)
      `${'k'.repeat(1100)}: 1\n`,
      // empty and scalar documents
      '# only a comment\n', '~\n', 'x\n',
    ];
    for (const text of outside) expect(readFast(text), JSON.stringify(text)).toBeUndefined();
  });

  it('gives up on nesting deeper than its limit (read.ts reports depth)', () => {
    const deep = Array.from({ length: 150 }, (_v, i) => `${' '.repeat(i)}k:`).join('\n');
    expect(readFast(`${deep} 1\n`)).toBeUndefined();
    expect(readFast(`${Array.from({ length: 20 }, (_v, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`)).toBeDefined();
  });

  it('keeps the library path\'s errors and problems, with their lines, where it falls back', () => {
    const texts = ['a: 1\nb:\n  c: 2\n  c: 3\n', 'a: 1\nb: .inf\n', 'a: 1\nb: c: d\n', 'a: 1\nb: [x\n', 'a: 1\nb: *nope\n', 'a: 1\n ~: 2\n'];
    for (const text of texts) {
      const lines = new Lines(`x\n${text}`);
      let want: unknown;
      let got: unknown;
      try {
        const r = readChunk(text, 2, lines, where);
        want = { value: r.value, problems: r.problems };
      } catch (error) {
        want = error instanceof DevError ? { error: error.message, where: error.where } : error;
      }
      try {
        const r = readChunkValue(text, 2, lines, where);
        got = { value: r.value, problems: r.problems };
      } catch (error) {
        got = error instanceof DevError ? { error: error.message, where: error.where } : error;
      }
      expect(show(got), text).toBe(show(want));
    }
    expect(() => readChunkValue('a: 1\nb: c: d\n', 0, new Lines('a: 1\nb: c: d\n'), where)).toThrow(/invalid YAML/);
    const dup = 'a: 1\nb:\n  c: 2\n  c: 3\n';
    expect(readChunkValue(dup, 0, new Lines(dup), where).problems[0]).toMatchObject({ line: 4, path: 'b.c' });
  });

  it('reads the corpus, the fixtures and the differential cases as the library path does', () => {
    const docs: string[] = [];
    const corpus = join(ROOT, '..', 'shared', 'corpus');
    for (const f of readdirSync(corpus).filter((f) => f.endsWith('.yaml'))) docs.push(...documentsOf(readFileSync(join(corpus, f), 'utf8')));
    for (const d of readdirSync(join(ROOT, 'fixtures'))) {
      const file = join(ROOT, 'fixtures', d, 'input.yaml');
      if (existsSync(file)) docs.push(...documentsOf(readFileSync(file, 'utf8')));
    }
    const corpusCount = docs.length;
    for (const c of generateDiffCases(600)) docs.push(...documentsOf(c.text));
    const bad = docs.flatMap((d) => {
      const why = disagreement(d);
      return why === undefined ? [] : [`${JSON.stringify(d.slice(0, 120))}: ${why}`];
    });
    expect(bad).toEqual([]);
    // Most real manifests are in the subset.
    expect(docs.slice(0, corpusCount).filter((d) => readFast(d) !== undefined).length).toBeGreaterThan(corpusCount * 0.7);
  });

  it('reads generated subset documents and their mutations as the library path does (seeded)', { timeout: 120_000 }, () => {
    const docs = generateFastDocs(12_000);
    let fast = 0;
    const bad: string[] = [];
    for (const d of docs) {
      if (readFast(d) !== undefined) fast++;
      const why = disagreement(d);
      if (why !== undefined && bad.length < 10) bad.push(`${JSON.stringify(d)}: ${why}`);
    }
    expect(bad).toEqual([]);
    expect(fast).toBeGreaterThan(docs.length * 0.1);
  });

  it('reads mutated real manifests as the library path does (seeded)', { timeout: 120_000 }, () => {
    const random = prng(0x6d757461);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const corpus = join(ROOT, '..', 'shared', 'corpus');
    const base = readdirSync(corpus).filter((f) => f.endsWith('.yaml')).flatMap((f) => documentsOf(readFileSync(join(corpus, f), 'utf8')))
      .filter((d) => readFast(d) !== undefined && d.length < 8000);
    const inserts = [' ', '  ', '\n', ':', ': ', '-', '- ', '#', ' #', '"', "'", '|', '>', '|-', '[', ']', '{', '}', '[]', ',', '&a ', '*a', '!', '?', '%', '\\', '...', '---', '~', '0x1F', '1e400', 'yes', '.inf', '<<: ', '\n  ', '\n- ', '"a": ', 'é', '\t', '\r\n'];
    const bad: string[] = [];
    for (let i = 0; i < 4000; i++) {
      let d = pick(base);
      for (let k = 1 + Math.floor(random() * 2); k > 0; k--) {
        const at = Math.floor(random() * (d.length + 1));
        const r = random();
        if (r < 0.55) d = d.slice(0, at) + pick(inserts) + d.slice(at);
        else if (r < 0.8) d = d.slice(0, at) + d.slice(at + 1 + Math.floor(random() * 3));
        else {
          const start = d.lastIndexOf('\n', at - 1) + 1;
          d = random() < 0.5 ? `${d.slice(0, start)}${d.slice(start, d.indexOf('\n', start) + 1)}${d.slice(start)}` : `${d.slice(0, start)} ${d.slice(start)}`;
        }
      }
      const why = disagreement(d);
      if (why !== undefined && bad.length < 10) bad.push(`${JSON.stringify(d.slice(0, 300))}: ${why}`);
    }
    expect(bad).toEqual([]);
  });
});
