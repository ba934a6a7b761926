// Benchmark: `render` over a 10,000-document stream (the corpus in ../shared/corpus
// repeated, a quarter of the documents selected) against parsing and re-serialising
// the same stream with the `yaml` library, in the same run. Goal: ≤ 1.3×.
//
//   node bench/render.ts [--docs 10000] [--runs 7]
//
// Prints the median times and the ratio; exits 1 when the ratio is over the goal
// and BENCH_STRICT=1 is set.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Document, parseAllDocuments } from 'yaml';
import { enter } from '../src/core/enter.ts';
import { workloadKindOf, podTemplateOf } from '../src/core/kinds.ts';
import { parseManifests } from '../src/core/manifests.ts';
import { OPT_IN_ANNOTATION } from '../src/core/marks.ts';
import type { KubeObject } from '../src/core/objects.ts';
import { render } from '../src/render/index.ts';

const GOAL = 1.3;
const { values } = parseArgs({ options: { docs: { type: 'string', default: '10000' }, runs: { type: 'string', default: '7' } } });
const DOCS = Number(values.docs);
const RUNS = Number(values.runs);
const CORPUS = join(import.meta.dirname, '..', '..', 'shared', 'corpus');

/** True when the workload goes into dev mode without choosing anything (one container or a default one). */
function selectable(obj: KubeObject): boolean {
  try {
    enter([obj], { targets: [{ kind: workloadKindOf(obj)!, name: String(obj.metadata?.name), ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) }] });
    return true;
  } catch {
    return false;
  }
}

/** Picks the first app container as the default for multi-container pods, so they can be selected. */
function withDefaultContainer(obj: KubeObject): KubeObject {
  const kind = workloadKindOf(obj);
  if (!kind) return obj;
  const copy = structuredClone(obj);
  try {
    const template = podTemplateOf(structuredClone(obj), kind);
    const first = (template.spec.containers as { name: string }[] | undefined)?.[0]?.name;
    if (first) copy.metadata = { ...copy.metadata, annotations: { 'kubectl.kubernetes.io/default-container': first, ...copy.metadata?.annotations } };
  } catch {
    return obj;
  }
  return copy;
}

function buildStream(): { text: string; selected: number; workloads: number } {
  const corpus = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseManifests(readFileSync(join(CORPUS, f), 'utf8'), f).map((p) => p.object));
  const parts: string[] = [];
  let selected = 0;
  let workloads = 0;
  for (let i = 0; i < DOCS; i++) {
    const copy = Math.floor(i / corpus.length);
    let obj = structuredClone(corpus[i % corpus.length]!);
    if (obj.metadata?.name !== undefined) obj.metadata = { ...obj.metadata, name: `${obj.metadata.name}-c${copy}` };
    if (workloadKindOf(obj)) {
      workloads++;
      // A quarter of all documents, spread evenly over the stream.
      if (selected < (i + 1) / 4) {
        const candidate = withDefaultContainer(obj);
        const opted = { ...candidate, metadata: { ...candidate.metadata, annotations: { ...candidate.metadata?.annotations, [OPT_IN_ANNOTATION]: 'true' } } };
        if (selectable(opted)) {
          obj = opted;
          selected++;
        }
      }
    }
    parts.push(new Document(obj, { version: '1.1' }).toString({ lineWidth: 0, indentSeq: false }));
  }
  return { text: parts.join('---\n'), selected, workloads };
}

function baseline(text: string): string {
  return parseAllDocuments(text).map((d) => d.toString()).join('');
}

function renderIt(text: string): string {
  const outcome = render(text);
  if (outcome.error) throw outcome.error;
  return outcome.stdout;
}

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { text, selected, workloads } = buildStream();
const docCount = (text.match(/^---$/gm)?.length ?? 0) + 1;
console.log(`stream: ${docCount} documents, ${(text.length / 1e6).toFixed(1)} MB, ${workloads} workloads, ${selected} selected (${((100 * selected) / docCount).toFixed(1)}%)`);

// Warm up both, and check that render really changes the selected workloads.
const out = renderIt(text);
const changed = (out.match(/dev\.kubectl-dev\.io\/dev-mode: "true"/g) ?? []).length;
if (changed !== selected) throw new Error(`expected ${selected} workloads in dev mode, got ${changed}`);
baseline(text);

const renderTimes: number[] = [];
const baseTimes: number[] = [];
for (let i = 0; i < RUNS; i++) {
  // Alternate, so drift (GC, CPU frequency) hits both.
  baseTimes.push(time(() => baseline(text)));
  renderTimes.push(time(() => renderIt(text)));
}
const r = median(renderTimes);
const b = median(baseTimes);
const ratio = r / b;
console.log(`yaml parse + re-serialise: median ${b.toFixed(0)} ms (${baseTimes.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`kubectl-dev render:        median ${r.toFixed(0)} ms (${renderTimes.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`ratio render / baseline: ${ratio.toFixed(2)}x (goal <= ${GOAL}x) ${ratio <= GOAL ? 'OK' : 'OVER'}`);
if (process.env.BENCH_STRICT === '1' && ratio > GOAL) process.exitCode = 1;
