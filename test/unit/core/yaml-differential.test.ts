// Differential test against the Go YAML reader kubectl and Helm use (apimachinery's
// YAMLOrJSONDecoder over sigs.k8s.io/yaml; test/tools/goyaml): over seeded streams of
// tricky scalars (test/unit/core/yaml-gen.ts), kubectl-dev must read every document as
// kubectl does, and kubectl must read render's output, in both modes, as: untouched
// documents byte for byte and equal; the selected workload equal to the rewrite of
// what kubectl read (so every field dev mode does not change keeps its value and
// type), its saved original equal to kubectl's reading of the input; and `end
// --local`'s output equal to the input as kubectl reads it.

import { describe, expect, it } from 'vitest';
import { exit } from '../../../src/core/exit.ts';
import { parseWorkloadRef } from '../../../src/core/kinds.ts';
import { parseManifests, printManifests } from '../../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { fromJson } from '../../../src/core/yaml/json.ts';
import { render } from '../../../src/render/index.ts';
import { rewriteOne } from '../../../src/render/select.ts';
import { isTransportAnnotation } from '../../../src/render/transport.ts';
import { goRead } from '../../tools/goyaml.ts';
import { generateDiffCases, type DiffCase } from './yaml-gen.ts';

const CASES = Number(process.env.YAML_DIFF_CASES ?? 1500);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Values compared as the API server decodes JSON: an integer within int64 exactly, any
 * other number as a float64 (JSON does not tell 1 from 1.0); objects by keys.
 */
function canon(value: unknown): unknown {
  if (typeof value === 'bigint' || typeof value === 'number') {
    // A number's JSON text (JavaScript and Go write floats alike, shortest form).
    const text = String(value);
    if (/^-?[0-9]+$/.test(text) && BigInt(text) >= INT64_MIN && BigInt(text) <= INT64_MAX) return `#${BigInt(text)}`;
    return `#${Number(text)}`;
  }
  if (Array.isArray(value)) return value.map(canon);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canon((value as Record<string, unknown>)[k])]));
  }
  return value;
}

const same = (a: unknown, b: unknown) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

/** Where two values first differ, for the report. */
function difference(a: unknown, b: unknown, path = ''): string {
  if (same(a, b)) return '';
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d !== '') return d;
    }
  }
  return `${path}: ${JSON.stringify(canon(a))} vs kubectl ${JSON.stringify(canon(b))}`;
}

/** What kubectl read, numbers exact. */
function goDocs(streams: string[]): ({ docs: KubeObject[] } | { error: string })[] {
  return goRead(streams).map((r) => fromJson(r.raw) as { docs: KubeObject[] } | { error: string });
}

/** The object with the original annotation parsed, so it compares by value. */
function withOriginalParsed(obj: KubeObject): KubeObject {
  const original = obj.metadata?.annotations?.[ORIGINAL_ANNOTATION];
  if (typeof original !== 'string') return obj;
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [ORIGINAL_ANNOTATION]: fromJson(original) as string } } };
}

function withoutTransport(obj: KubeObject): KubeObject {
  const annotations = obj.metadata?.annotations;
  if (annotations === undefined || annotations === null) return obj;
  const kept = Object.fromEntries(Object.entries(annotations).filter(([k]) => !isTransportAnnotation(k)));
  const metadata = { ...obj.metadata };
  if (Object.keys(kept).length > 0 || Object.keys(annotations).length === 0) metadata.annotations = kept;
  else delete metadata.annotations;
  return { ...obj, metadata };
}

/** The documents of a stream as they are separated in the generator (for byte-identity checks). */
const docTexts = (text: string) => text.replace(/^---\n/, '').split(/^---\n(?:# Source: .*\n)?/m);

/** The same documents as the items of a ResourceList, as kustomize sends them. */
function asResourceList(text: string): string {
  const items = docTexts(text).map((d) => d.trimEnd().split('\n').map((l, i) => (i === 0 ? `- ${l}` : l === '' ? '' : `  ${l}`)).join('\n'));
  return `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items.join('\n')}\n`;
}

interface Divergence {
  name: string;
  what: string;
  detail?: string;
}

describe('YAML as kubectl reads it: differential test against sigs.k8s.io/yaml', () => {
  const cases = generateDiffCases(CASES);
  const inputs = goDocs(cases.map((c) => c.text));
  const divergences: Divergence[] = [];
  const tally = { compared: 0, goRefused: 0, weRefusedToo: 0, duplicateRefused: 0, rendered: 0, krmRendered: 0, repaired: 0 };
  const diverge = (c: DiffCase, what: string, detail?: unknown) => {
    if (divergences.length < 40) divergences.push({ name: c.name, what, ...(detail !== undefined ? { detail: typeof detail === 'string' ? detail : JSON.stringify(detail).slice(0, 600) } : {}) });
  };

  it(`generates ${CASES} streams, the same ones every run`, () => {
    expect(cases).toHaveLength(CASES);
    expect(generateDiffCases(3).map((c) => c.text)).toEqual(cases.slice(0, 3).map((c) => c.text));
  });

  it('reads every document as kubectl reads it', () => {
    cases.forEach((c, i) => {
      const go = inputs[i]!;
      if ('error' in go) {
        tally.goRefused++;
        return;
      }
      let ours: KubeObject[];
      try {
        ours = parseManifests(c.text, c.name).map((p) => p.object);
      } catch (error) {
        return diverge(c, 'kubectl reads the stream, kubectl-dev refuses it', (error as Error).message);
      }
      tally.compared++;
      if (ours.length !== go.docs.length) return diverge(c, 'document count', { ours: ours.length, go: go.docs.length });
      ours.forEach((o, k) => {
        if (!same(o, go.docs[k])) diverge(c, `document ${k} read differently`, difference(o, go.docs[k]));
      });
    });
    expect(divergences).toEqual([]);
    expect(tally.compared).toBeGreaterThan(CASES * 0.8);
  });

  for (const mode of ['stream', 'krm'] as const) {
    it(`${mode} mode: kubectl reads the output as the rewrite of what it read; untouched documents stay as they were, byte for byte`, { timeout: 120_000 }, () => {
      const rendered: { c: DiffCase; go: KubeObject[]; stdout: string }[] = [];
      const texts = cases.map((c) => (mode === 'krm' ? asResourceList(c.text) : c.text));
      const read = mode === 'krm' ? goDocs(texts).map((r) => ('error' in r ? r : { docs: (r.docs[0]?.items ?? []) as KubeObject[] })) : inputs;
      cases.forEach((c, i) => {
        const go = read[i]!;
        if ('error' in go) return;
        const text = texts[i]!;
        const outcome = render(text, { selects: [parseWorkloadRef(c.select)], settings: { container: 'app' } });
        if (outcome.error) {
          if (c.name.includes('duplicate') && outcome.error.message.includes('duplicate key')) {
            tally.duplicateRefused++;
            expect(outcome.error.where.line, c.name).toBeTypeOf('number');
            return;
          }
          return diverge(c, `${mode}: render refused a stream kubectl reads`, outcome.error.message);
        }
        if (c.name.includes('duplicate')) diverge(c, `${mode}: a duplicate key in the selected workload was not refused`);
        rendered.push({ c, go: go.docs, stdout: outcome.stdout });
      });
      const outputs = goDocs(rendered.map((r) => r.stdout));
      const ends: { r: (typeof rendered)[number]; text: string }[] = [];
      rendered.forEach((r, k) => {
        const out = outputs[k]!;
        if ('error' in out) return diverge(r.c, `${mode}: kubectl cannot read the output`, out.error);
        const docs = mode === 'krm' ? ((out.docs[0]?.items ?? []) as KubeObject[]) : out.docs;
        const [cm, selected, other] = r.go as [KubeObject, KubeObject, KubeObject];
        const expected = rewriteOne(structuredClone(selected), { kind: parseWorkloadRef(r.c.select).kind, name: String(selected.metadata?.name), settings: { container: 'app' } }, { source: '-', document: 1, line: 1 });
        const want = [cm, ...expected, other];
        if (docs.length !== want.length) return diverge(r.c, `${mode}: output document count`, { got: docs.length, want: want.length });
        docs.forEach((d, j) => {
          if (!same(withOriginalParsed(d), withOriginalParsed(want[j]!))) diverge(r.c, `${mode}: output document ${j} differs from the rewrite of kubectl's reading`, difference(withOriginalParsed(d), withOriginalParsed(want[j]!)));
        });
        // The saved original is what kubectl read (without the trip's annotations).
        const original = fromJson(String(docs[1]?.metadata?.annotations?.[ORIGINAL_ANNOTATION])) as Record<string, unknown>;
        const plain = withoutTransport(selected);
        const wantOriginal = { ...(plain.metadata?.labels !== undefined ? { labels: plain.metadata.labels } : {}), ...(plain.metadata?.annotations !== undefined ? { annotations: plain.metadata.annotations } : {}), ...(plain.spec !== undefined ? { spec: plain.spec } : {}) };
        if (!same(original, wantOriginal)) diverge(r.c, `${mode}: saved original differs from kubectl's reading`, difference(original, wantOriginal));
        // Untouched documents: their source text, byte for byte.
        const sources = docTexts(r.c.text);
        for (const t of [sources[0]!, sources[2]!]) {
          const source = mode === 'krm' ? t.trimEnd().split('\n').map((l, i) => (i === 0 ? `- ${l}` : l === '' ? '' : `  ${l}`)).join('\n') : t;
          if (!r.stdout.includes(source)) diverge(r.c, `${mode}: an untouched document is not in the output byte for byte`, source.slice(0, 200));
        }
        if (mode === 'stream') {
          tally.rendered++;
          const parsed = parseManifests(r.stdout, 'out');
          ends.push({ r, text: printManifests(exit(parsed.map((p) => p.object)), 'yaml', parsed) });
        } else {
          tally.krmRendered++;
        }
      });
      if (mode === 'stream') {
        // end --local: kubectl reads back what it read of the input (the trip's annotations aside).
        const back = goDocs(ends.map((e) => e.text));
        ends.forEach((e, k) => {
          const got = back[k]!;
          if ('error' in got) return diverge(e.r.c, 'end --local: kubectl cannot read the output', got.error);
          const want = e.r.go.map((d, j) => (j === 1 ? withoutTransport(d) : d));
          if (!same(got.docs, want)) diverge(e.r.c, 'end --local output differs from the input', difference(got.docs, want));
        });
      }
      expect(divergences).toEqual([]);
      expect(mode === 'stream' ? tally.rendered : tally.krmRendered).toBeGreaterThan(CASES * 0.7);
    });
  }

  it('reports its reach', () => {
    console.log(`YAML differential: ${CASES} streams; ${tally.compared} read by both and compared (${tally.goRefused} refused by kubectl), ${tally.rendered} rendered in stream mode and ${tally.krmRendered} in KRM mode and read back, ${tally.duplicateRefused} refusals of a duplicate key in the selected workload; divergences: ${divergences.length}`);
    expect(divergences).toEqual([]);
  });
});
