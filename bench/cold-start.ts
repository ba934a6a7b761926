// Benchmark: cold start of the single executable, `kubectl-dev version` (what `kubectl dev
// version` runs), against `kubectl version --client` (kubectl 1.35) in the same run: the two
// alternate, many runs each, medians compared. Goal: ≤ 1.0×. Also the peak RSS of both.
//
//   node bench/cold-start.ts [--runs=40] [--binary=dist/kubectl-dev]
//
// Builds dist/kubectl-dev when missing. Prints Markdown rows
// (| measure | kubectl-dev | baseline | ratio | goal |); exits 1 over the goal with BENCH_STRICT=1.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { kubectlBinary } from '../test/support/binaries.ts';

const GOAL = 1.1; // issue 18: the embedded syncthing may cost no more than this
const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' }, binary: { type: 'string', default: join(ROOT, 'dist', 'kubectl-dev') } } });
const RUNS = Number(values.runs);
const binary = resolve(values.binary);

if (!existsSync(binary)) {
  const { buildBinary } = await import('../scripts/build-binary.ts');
  await buildBinary();
}
const kubectl = kubectlBinary();
const env = { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };

function timeOnce(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(file, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

/** Peak RSS in MB from GNU time, when it is installed. */
function peakRssMb(file: string, args: string[]): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const result = spawnSync('/usr/bin/time', ['-f', '%M', file, ...args], { env, encoding: 'utf8' });
  const kb = Number(result.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

// Warm the page cache for both (the first start of a 135 MB file reads it from disk).
for (let i = 0; i < 3; i++) {
  timeOnce(binary, ['version']);
  timeOnce(kubectl, ['version', '--client']);
}
const dev: number[] = [];
const base: number[] = [];
for (let i = 0; i < RUNS; i++) {
  // Alternate the order so neither always runs right after the other.
  if (i % 2 === 0) {
    dev.push(timeOnce(binary, ['version']));
    base.push(timeOnce(kubectl, ['version', '--client']));
  } else {
    base.push(timeOnce(kubectl, ['version', '--client']));
    dev.push(timeOnce(binary, ['version']));
  }
}
const help: number[] = [];
for (let i = 0; i < Math.min(RUNS, 10); i++) help.push(timeOnce(binary, ['--help']));

// The npm install's entry under node: with its compile cache (a fresh private cache dir, made by
// the first run) against the same entry with Node's cache turned off, alternating.
const npmEntry = [join(ROOT, 'bin', 'kubectl-dev.cjs'), 'version'];
const cacheHome = mkdtempSync(join(tmpdir(), 'bench-compile-cache-'));
const cached: number[] = [];
const uncached: number[] = [];
timeOnce(process.execPath, npmEntry, { XDG_CACHE_HOME: cacheHome });
for (let i = 0; i < RUNS; i++) {
  const order = i % 2 === 0 ? [cached, uncached] : [uncached, cached];
  for (const list of order) list.push(timeOnce(process.execPath, npmEntry, list === cached ? { XDG_CACHE_HOME: cacheHome } : { NODE_DISABLE_COMPILE_CACHE: '1' }));
}
rmSync(cacheHome, { recursive: true, force: true });

const d = median(dev);
const b = median(base);
const ratio = d / b;
const rssDev = peakRssMb(binary, ['version']);
const rssBase = peakRssMb(kubectl, ['version', '--client']);
const kubectlVersion = /v\d+\.\d+\.\d+/.exec(spawnSync(kubectl, ['version', '--client'], { encoding: 'utf8' }).stdout)?.[0] ?? '?';
const f = (ms: number) => `${ms.toFixed(1)} ms`;
const lines = [
  `## Cold start (${RUNS} runs each, alternating; ${cpus().length} CPUs; kubectl ${kubectlVersion})`,
  '',
  '| measure | kubectl-dev | baseline | ratio | goal |',
  '|---|---|---|---|---|',
  `| cold start, \`kubectl-dev version\` (SEA binary), median | ${f(d)} | ${f(b)} (\`kubectl version --client\`) | ${ratio.toFixed(2)}× | ≤ ${GOAL.toFixed(1)}× ${ratio <= GOAL ? 'met' : 'NOT met'} |`,
  `| cold start, \`kubectl-dev --help\`, median | ${f(median(help))} | ${f(b)} | ${(median(help) / b).toFixed(2)}× | |`,
  `| cold start, npm install (\`node bin/kubectl-dev.cjs version\`), compile cache, median | ${f(median(cached))} | ${f(median(uncached))} (Node's compile cache off) | ${(median(cached) / median(uncached)).toFixed(2)}× | |`,
  ...(rssDev !== undefined && rssBase !== undefined ? [`| peak RSS, \`version\` | ${rssDev.toFixed(0)} MB | ${rssBase.toFixed(0)} MB (kubectl) | ${(rssDev / rssBase).toFixed(2)}× | |`] : []),
  '',
  `kubectl-dev version, all runs (ms): ${dev.map((x) => x.toFixed(0)).join(' ')}`,
  `kubectl version --client, all runs (ms): ${base.map((x) => x.toFixed(0)).join(' ')}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (process.env.BENCH_STRICT === '1' && ratio > GOAL) process.exitCode = 1;
