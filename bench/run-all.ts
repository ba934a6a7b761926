// `npm run bench`: runs every benchmark of the project, each with its own baseline in the
// same run, and writes bench/RESULTS.md: the machine, one summary table of every row
// (| measure | kubectl-dev | baseline | ratio | goal |) and each benchmark's full output.
//
//   node bench/run-all.ts [--only=cold-start,render] [--out=bench/RESULTS.md]
//
// With --only, the sections of the benchmarks not run are kept from the existing file (and
// the summary rebuilt from every section); the header says which sections were re-run, when,
// on which machine.
//
// Benchmarks that need a cluster start their own on a temp dir (or use $KUBECONFIG_TEST).
// A benchmark that fails is reported as failed in the file; the run goes on; exit code 1.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string', default: join(ROOT, 'bench', 'RESULTS.md') } } });

/** Every benchmark, in the order they run. */
const BENCHMARKS: Array<{ name: string; file: string; what: string; args?: string[] }> = [
  { name: 'cold-start', file: 'bench/cold-start.ts', what: 'single binary cold start vs kubectl, RSS' },
  { name: 'render', file: 'bench/render.ts', what: 'render throughput vs yaml parse + re-serialise' },
  { name: 'start', file: 'bench/start.ts', what: 'start --no-sync to dev pod Ready vs kubectl patch + rollout status' },
  { name: 'status', file: 'bench/status.ts', what: 'status -A with 2,000 Deployments vs one labelled LIST' },
  { name: 'sync', file: 'bench/sync.ts', what: 'save latency, initial sync, RSS vs syncthing watcher and tar' },
  // The initial sync alone, several runs for a median (the row in 'sync' is one run).
  { name: 'sync-initial', file: 'bench/sync.ts', args: ['--only=initial', '--runs=5'], what: 'initial sync of 115 MB vs tar, median of 5 runs' },
  { name: 'hot-reload', file: 'bench/hot-reload.ts', what: 'the coding loop on real containers: edit → HTTP response with `run` vs the image rebuild loop, zero → first response, save → container' },
];

interface Outcome {
  name: string;
  what: string;
  code: number | null;
  seconds: number;
  output: string;
}

function runOne(file: string, args: string[]): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); process.stderr.write(d); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); process.stderr.write(d); });
    const stop = () => child.kill('SIGINT');
    process.once('SIGINT', stop);
    child.on('close', (code) => {
      process.off('SIGINT', stop);
      resolvePromise({ code, output: code === 0 ? stdout : `${stdout}\n${stderr.split('\n').slice(-30).join('\n')}`, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Table rows of the common shape, from a benchmark's Markdown output. */
function rowsOf(output: string): string[] {
  return output.split('\n').filter((line) => /^\|.*\|$/.test(line.trim()) && !/^\|\s*-/.test(line.trim()) && !/^\|\s*measure\s*\|/.test(line.trim()));
}

/** A summary row for a benchmark that prints plain lines (bench/render.ts: "X: median N ms", "ratio …: Rx (goal <= Gx)"). */
function plainRow(name: string, output: string): string[] {
  const ratio = /ratio[^:]*:\s*([\d.]+)x\s*\(goal\s*<=\s*([\d.]+)x\)/i.exec(output);
  if (!ratio) return [];
  const medians = [...output.matchAll(/^(.+?):\s+median\s+([\d.]+ ms)/gm)].map((m) => ({ what: (m[1] as string).trim(), ms: m[2] as string }));
  const ours = medians.find((m) => /kubectl-dev/.test(m.what));
  const base = medians.find((m) => !/kubectl-dev/.test(m.what));
  const first = output.split('\n').find((l) => l.trim() !== '') ?? '';
  return [`| ${name} (${first.trim()}) | ${ours?.ms ?? '?'} | ${base ? `${base.ms} (${base.what})` : '?'} | ${Number(ratio[1]).toFixed(2)}× | ≤ ${ratio[2]}× |`];
}

/** The existing file's header (machine lines) and its sections by benchmark name, to keep what --only did not run. */
function previousResults(file: string): { machine: string[]; sections: Map<string, string> } | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const chunks = text.split(/^(?=## )/m);
  const head = chunks.shift() ?? '';
  const machineLines = head.split('\n').filter((l) => l.startsWith('- ') || l.startsWith('Re-run alone'));
  const sections = new Map<string, string>();
  for (const chunk of chunks) {
    const name = /^## ([\w-]+)[:\s]/.exec(chunk)?.[1];
    if (name && name !== 'Summary') sections.set(name, chunk.trimEnd());
  }
  return { machine: machineLines, sections };
}

/** Summary rows of a section as written in the file (a table, or a fenced plain output). */
function rowsOfSection(name: string, section: string): string[] {
  if (/FAILED with exit code/.test(section.split('\n')[0] ?? '')) return [`| ${name}: FAILED, see below | | | | |`];
  const rows = rowsOf(section);
  if (rows.length > 0) return rows;
  const fenced = /```\n([\s\S]*?)\n```/.exec(section)?.[1] ?? '';
  return plainRow(name, fenced);
}

/** The commit measured, and whether the work tree had changes beside it. */
function commitOf(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']).stdout.trim() || 'unknown';
  return git(['status', '--porcelain', '--untracked-files=no']).stdout.trim() === '' ? head : `${head} with uncommitted changes`;
}

function machine(): string[] {
  let cpuModel = cpus()[0]?.model ?? '?';
  cpuModel = cpuModel.replace(/\s+/g, ' ').trim();
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    /* not Linux */
  }
  return [
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- commit: ${commitOf()}`,
    `- CPU: ${cpus().length} cores (${cpuModel})`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    `- OS: ${distro || process.platform} (kernel ${release()})`,
    `- Node ${process.version} (the pinned node_modules/node; the single binary embeds the same version)`,
  ];
}

async function main(): Promise<void> {
  const only = values.only?.split(',').map((s) => s.trim());
  const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));
  const outcomes: Outcome[] = [];
  const skipped: string[] = [];
  for (const bench of selected) {
    if (!existsSync(join(ROOT, bench.file))) {
      skipped.push(`${bench.file} (${bench.what}): not in this checkout`);
      continue;
    }
    process.stderr.write(`\n=== ${bench.file}\n`);
    const { code, output, seconds } = await runOne(bench.file, bench.args ?? []);
    outcomes.push({ name: bench.name, what: bench.what, code, seconds, output });
  }

  const sectionOf = (o: Outcome) => {
    const markdown = rowsOf(o.output).length > 0;
    return [
      `## ${o.name}: ${o.what} (\`node ${BENCHMARKS.find((b) => b.name === o.name)?.file}${(BENCHMARKS.find((b) => b.name === o.name)?.args ?? []).map((a) => ` ${a}`).join('')}\`, ${o.seconds.toFixed(0)} s${o.code === 0 ? '' : `, FAILED with exit code ${o.code}`})`,
      '',
      ...(markdown ? [o.output.trim().replace(/^## /gm, '### ')] : ['```', o.output.trim(), '```']),
    ].join('\n');
  };
  // --only: the other benchmarks' sections stay as they were.
  const previous = only ? previousResults(resolve(values.out)) : undefined;
  const sections: Array<[string, string]> = [];
  for (const b of BENCHMARKS) {
    const ran = outcomes.find((o) => o.name === b.name);
    if (ran) sections.push([b.name, sectionOf(ran)]);
    else if (previous?.sections.has(b.name)) sections.push([b.name, previous.sections.get(b.name)!]);
  }
  const summary = sections.flatMap(([name, text]) => rowsOfSection(name, text));
  const now = machine();
  const header = previous
    ? [
      ...previous.machine.filter((l) => !l.startsWith('Re-run alone')),
      '',
      ...previous.machine.filter((l) => l.startsWith('Re-run alone') && !outcomes.some((o) => l.includes(`: ${o.name} `))),
      `Re-run alone (\`--only\`): ${outcomes.map((o) => o.name).join(', ')} — ${now.map((l) => l.replace(/^- /, '')).join('; ')}`,
    ]
    : now;
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run-all.ts). Every figure has its baseline measured in the same run, on this machine:',
    '',
    ...header,
    '',
    '## Summary',
    '',
    '| measure | kubectl-dev | baseline | ratio | goal |',
    '|---|---|---|---|---|',
    ...summary,
    '',
    ...(skipped.length ? ['Not run:', '', ...skipped.map((s) => `- ${s}`), ''] : []),
    ...sections.flatMap(([, text]) => [text, '']),
  ];
  writeFileSync(resolve(values.out), `${lines.join('\n').trimEnd()}\n`);
  process.stderr.write(`\nwrote ${values.out}\n`);
  if (outcomes.some((o) => o.code !== 0)) process.exitCode = 1;
}

await main();
