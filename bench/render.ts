// Benchmark: `render` on two streams, each against parsing and re-serialising the same
// stream with the `yaml` library, in the same run:
//  - a CRD-heavy stream of about 20 MB: real CustomResourceDefinitions (the Prometheus
//    CRD of sigs.k8s.io/structured-merge-diff's test data, Gateway API's standard
//    install of k8s.io/apiextensions-apiserver's, KWOK's CRDs; read from their Go modules
//    with `go mod download`) repeated, 1 % of the documents workloads (from
//    ../shared/corpus), all of them selected. Also against `cat` (bytes in, bytes out).
//  - the 10,000-document stream: ../shared/corpus repeated, a quarter of the documents selected.
// Goal: ≤ 0.33× of parse + re-serialise, and within 3× of `cat` on the CRD-heavy stream.
//
//   node bench/render.ts [--docs 10000] [--runs 7] [--mb 20] [--stream crd|docs] [--save DIR]
//
// --stream runs one of the two streams only; --save DIR also writes each stream to
// DIR/<crd|docs>.yaml (for profiling render on it alone).
//
// Prints a Markdown table (the rows of bench/RESULTS.md) and the runs; exits 1 when a
// ratio is over its goal and BENCH_STRICT=1 is set.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Document, parseAllDocuments } from 'yaml';
import { decode, outputBytes } from '../src/cli/commands/render.ts';
import { enter } from '../src/core/enter.ts';
import { podTemplateOf, workloadKindOf } from '../src/core/kinds.ts';
import { parseManifests } from '../src/core/manifests.ts';
import { OPT_IN_ANNOTATION } from '../src/core/marks.ts';
import type { KubeObject } from '../src/core/objects.ts';
import { render } from '../src/render/index.ts';

const GOAL = 0.33;
const CAT_GOAL = 3;
const { values } = parseArgs({ options: { docs: { type: 'string', default: '10000' }, runs: { type: 'string', default: '7' }, mb: { type: 'string', default: '20' }, stream: { type: 'string' }, save: { type: 'string' } } });
const DOCS = Number(values.docs);
const RUNS = Number(values.runs);
const ROOT = join(import.meta.dirname, '..');
const CORPUS = join(ROOT, '..', 'shared', 'corpus');

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

const optedIn = (obj: KubeObject): KubeObject => ({ ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [OPT_IN_ANNOTATION]: 'true' } } });
const print = (obj: KubeObject) => new Document(obj, { version: '1.1' }).toString({ lineWidth: 0, indentSeq: false });

function corpusObjects(): KubeObject[] {
  return readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseManifests(readFileSync(join(CORPUS, f), 'utf8'), f).map((p) => p.object));
}

/** The 10,000-document stream: the corpus repeated, a quarter of the documents selected. */
function corpusStream(corpus: KubeObject[]): { text: string; selected: number; workloads: number; label: string } {
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
        const candidate = optedIn(withDefaultContainer(obj));
        if (selectable(candidate)) {
          obj = candidate;
          selected++;
        }
      }
    }
    parts.push(print(obj));
  }
  const text = parts.join('---\n');
  return { text, selected, workloads, label: `${DOCS} documents, ${(text.length / 1e6).toFixed(1)} MB, ${workloads} workloads, ${selected} selected` };
}

/** A Go module's directory, downloaded with the Go toolchain (cached in the module cache). */
function moduleDir(module: string): string | undefined {
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', module], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 600_000 });
    return (JSON.parse(out) as { Dir?: string }).Dir;
  } catch {
    return undefined;
  }
}

/** Real CRDs, as YAML documents. */
function realCrds(): { docs: string[]; sources: string[] } {
  const wanted: [string, string[]][] = [
    ['sigs.k8s.io/structured-merge-diff/v6@v6.3.3', ['internal/testdata/prometheus-crd.yaml']],
    ['k8s.io/apiextensions-apiserver@v0.36.3', ['test/integration/ratcheting_test_cases/crds/standard-install.yaml']],
    ['sigs.k8s.io/kwok@v0.8.0', ['kustomize/crd/bases']],
  ];
  const docs: string[] = [];
  const sources: string[] = [];
  for (const [module, paths] of wanted) {
    const dir = moduleDir(module);
    if (!dir) continue;
    for (const path of paths) {
      const full = join(dir, path);
      if (!existsSync(full)) continue;
      const files = full.endsWith('.yaml') ? [full] : readdirSync(full).filter((f) => f.endsWith('.yaml')).map((f) => join(full, f));
      for (const file of files) {
        for (const doc of readFileSync(file, 'utf8').split(/^---[ \t]*\n/m)) if (/^kind: CustomResourceDefinition$/m.test(doc)) docs.push(doc.endsWith('\n') ? doc : `${doc}\n`);
      }
      sources.push(`${module}/${path}`);
    }
  }
  if (docs.length === 0) {
    // No Go toolchain: the corpus's own CRDs.
    for (const obj of corpusObjects()) if (obj.kind === 'CustomResourceDefinition') docs.push(print(obj));
    sources.push('../shared/corpus (istio__spire-quickstart.yaml)');
  }
  return { docs, sources };
}

/** About `mb` MB of CRDs, every 100th document a selected workload. */
function crdStream(corpus: KubeObject[], mb: number): { text: string; selected: number; label: string; sources: string[] } {
  const { docs, sources } = realCrds();
  const workloads = corpus.filter((o) => workloadKindOf(o) && selectable(optedIn(withDefaultContainer(o)))).map((o) => optedIn(withDefaultContainer(o)));
  const parts: string[] = [];
  let size = 0;
  let selected = 0;
  for (let i = 0; size < mb * 1e6; i++) {
    let doc: string;
    if (i % 100 === 50) {
      const obj = structuredClone(workloads[selected % workloads.length]!);
      obj.metadata = { ...obj.metadata, name: `${obj.metadata?.name}-w${selected}` };
      doc = print(obj);
      selected++;
    } else {
      doc = docs[i % docs.length]!.replace(/^( {2}name: )(.*)$/m, `$1$2-${i}`);
    }
    parts.push(doc);
    size += doc.length;
  }
  const text = parts.join('---\n');
  return { text, selected, sources, label: `${parts.length} documents, ${(text.length / 1e6).toFixed(1)} MB, ${selected} workloads (${((100 * selected) / parts.length).toFixed(1)} %), all selected` };
}

function baseline(text: string): string {
  return parseAllDocuments(text).map((d) => d.toString()).join('');
}

/** render as the CLI runs it: bytes in (UTF-8 checked), bytes out (copied pieces are the input's bytes). */
function renderBytes(bytes: Buffer, devNull: number): number {
  const text = decode(bytes, 'bench');
  const outcome = render(text);
  if (outcome.error) throw outcome.error;
  let length = 0;
  for (const part of outputBytes(outcome.pieces, bytes, text)) length += writeSync(devNull, part);
  return length;
}

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

interface Row {
  measure: string;
  ours: number;
  base: number;
  baseWhat: string;
  goal?: number;
}

const rows: Row[] = [];
const details: string[] = [];
const devNull = openSync('/dev/null', 'w');
const dir = mkdtempSync(join(tmpdir(), 'bench-render-'));
const corpus = corpusObjects();

const streams = [
  ...(values.stream === undefined || values.stream === 'crd' ? [{ id: 'crd', name: 'CRD-heavy', ...crdStream(corpus, Number(values.mb)) }] : []),
  ...(values.stream === undefined || values.stream === 'docs' ? [{ id: 'docs', name: '10,000 documents', sources: ['../shared/corpus'], ...corpusStream(corpus) }] : []),
];
for (const stream of streams) {
  const file = join(dir, 'stream.yaml');
  writeFileSync(file, stream.text);
  if (values.save !== undefined) writeFileSync(join(values.save, `${stream.id}.yaml`), stream.text);
  const bytes = readFileSync(file);
  // Warm up, and check that render really changes the selected workloads.
  renderBytes(bytes, devNull);
  const out = render(stream.text).stdout;
  const changed = (out.match(/dev\.kubectl-dev\.io\/dev-mode: "true"/g) ?? []).length;
  if (changed !== stream.selected) throw new Error(`${stream.name}: expected ${stream.selected} workloads in dev mode, got ${changed}`);
  baseline(stream.text);
  const renderTimes: number[] = [];
  const baseTimes: number[] = [];
  const catTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate, so drift (GC, CPU frequency) hits all.
    baseTimes.push(time(() => baseline(stream.text)));
    renderTimes.push(time(() => renderBytes(readFileSync(file), devNull)));
  }
  // Against cat, render and cat alternate on their own: the parse + re-serialise run between
  // them leaves hundreds of MB of garbage whose collection would land in render's time.
  const renderVsCat: number[] = [];
  for (let i = 0; i < RUNS && stream.name === 'CRD-heavy'; i++) {
    renderVsCat.push(time(() => renderBytes(readFileSync(file), devNull)));
    catTimes.push(time(() => spawnSync('cat', [file], { stdio: ['ignore', devNull, 'ignore'] })));
  }
  const r = median(renderTimes);
  const b = median(baseTimes);
  const c = median(catTimes);
  rows.push({ measure: `render, ${stream.name} stream (${stream.label}), median of ${RUNS}`, ours: r, base: b, baseWhat: 'yaml parse + re-serialise', goal: GOAL });
  if (stream.name === 'CRD-heavy') rows.push({ measure: `render, ${stream.name} stream, bytes in → bytes out`, ours: median(renderVsCat), base: c, baseWhat: '`cat FILE > /dev/null`, a process', goal: CAT_GOAL });
  details.push(`${stream.name} stream: ${stream.label}; from ${stream.sources.join(', ')}`,
    `  yaml parse + re-serialise: median ${ms(b)} ms (${baseTimes.map(ms).join(', ')})`,
    `  kubectl-dev render:        median ${ms(r)} ms (${renderTimes.map(ms).join(', ')})`,
    ...(catTimes.length > 0 ? [`  kubectl-dev render, alternating with cat: median ${ms(median(renderVsCat))} ms (${renderVsCat.map(ms).join(', ')})`,
      `  cat:                       median ${ms(c)} ms (${catTimes.map(ms).join(', ')})`] : []));
}

// The CLI end to end on the CRD-heavy stream (Node's start included), when dist/ is built.
const bin = join(ROOT, 'bin', 'kubectl-dev.cjs');
if (existsSync(join(ROOT, 'dist', 'kubectl-dev.cjs')) && (values.stream === undefined || values.stream === 'crd')) {
  const file = join(dir, 'crd.yaml');
  writeFileSync(file, crdStream(corpus, Number(values.mb)).text);
  const cli: number[] = [];
  const cat: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    cli.push(time(() => spawnSync(process.execPath, [bin, 'render', '-f', file], { stdio: ['ignore', devNull, 'ignore'] })));
    cat.push(time(() => spawnSync('cat', [file], { stdio: ['ignore', devNull, 'ignore'] })));
  }
  rows.push({ measure: 'render CLI, CRD-heavy stream, process start to exit', ours: median(cli), base: median(cat), baseWhat: '`cat FILE > /dev/null`' });
  details.push(`CLI: kubectl-dev render -f (CRD-heavy) median ${ms(median(cli))} ms (${cli.map(ms).join(', ')}); cat ${ms(median(cat))} ms`);
}
closeSync(devNull);
rmSync(dir, { recursive: true, force: true });

console.log('| measure | kubectl-dev | baseline | ratio | goal |');
console.log('|---|---|---|---|---|');
let over = false;
for (const row of rows) {
  const ratio = row.ours / row.base;
  const met = row.goal === undefined ? '' : ratio <= row.goal ? ' met' : ' NOT met';
  if (row.goal !== undefined && ratio > row.goal) over = true;
  console.log(`| ${row.measure} | ${ms(row.ours)} ms | ${ms(row.base)} ms (${row.baseWhat}) | ${ratio.toFixed(3)}× | ${row.goal === undefined ? '' : `≤ ${row.goal}×${met}`} |`);
}
console.log('');
console.log('```');
for (const line of details) console.log(line);
console.log('```');
if (process.env.BENCH_STRICT === '1' && over) process.exitCode = 1;
