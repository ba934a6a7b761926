// Builds dist/kubectl-dev: one executable for linux-x64 with no run-time dependency on
// node_modules, made offline from the registry packages alone:
//   1. esbuild bundles scripts/sea-entry.ts (src/bin.ts with lazily created std streams) into
//      main.cjs (what every start runs) and heavy.cjs (what command handlers import lazily),
//      see scripts/sea-split.ts;
//   2. the pinned Node 24 (node_modules/node/bin/node) turns them into a SEA blob
//      (`--experimental-sea-config`, no experimental warning; main.cjs as a V8 startup snapshot,
//      or with a code cache when KUBECTL_DEV_SEA_SNAPSHOT=0; heavy.cjs and its code cache as assets);
//   3. a copy of that Node binary gets the blob injected with postject.
// Also writes dist/kubectl_complete-dev, the script kubectl runs for `kubectl dev <TAB>`.
//
//   npm run build:binary            build both
//   node scripts/build-binary.ts --out=DIR   write them to DIR instead of dist/

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { bundleSplit, HEAVY_FILENAME, HEAVY_PREFIX, HEAVY_SUFFIX } from './sea-split.ts';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '..');
/** The sentinel fuse of Node's SEA support (node/src/node_sea.cc). */
/** A V8 startup snapshot with main.cjs already evaluated (yargs, the command table, the stream modules): the fastest start. KUBECTL_DEV_SEA_SNAPSHOT=0: code cache instead. */
const SNAPSHOT = process.env.KUBECTL_DEV_SEA_SNAPSHOT !== '0';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** kubectl's plugin completion contract: `kubectl_complete-<plugin>` gets the words after
 * `kubectl dev` (the last one is the word being completed, possibly empty) and prints cobra
 * completions: one per line, then `:<directive>`. The binary answers through `__complete`. */
export const COMPLETE_SCRIPT = `#!/bin/sh
# kubectl plugin completion for kubectl-dev: kubectl runs this for \`kubectl dev <TAB>\`.
exec kubectl-dev __complete -- "$@"
`;

/** yargs' ESM shim imports node:assert (about 14 ms at start) for two internal checks: give it those two. */
const yargsAssert: Plugin = {
  name: 'yargs-assert',
  setup(b) {
    b.onResolve({ filter: /^(node:)?assert$/ }, (args) => (/[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'yargs-assert' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'yargs-assert' }, () => ({
      loader: 'js',
      contents: `export function strictEqual(a, b, message) { if (a !== b) throw new Error(message || 'assertion failed: ' + a + ' !== ' + b); }
export function notStrictEqual(a, b, message) { if (a === b) throw new Error(message || 'assertion failed: ' + a + ' === ' + b); }`,
    }));
  },
};

function log(line: string): void {
  process.stderr.write(`build:binary: ${line}\n`);
}

export async function buildBinary(outDir = join(ROOT, 'dist')): Promise<{ binary: string; complete: string }> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`build:binary makes a linux-x64 binary and must run on linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (!nodeVersion.startsWith('v24.')) throw new Error(`${node} is ${nodeVersion}; the binary is built on the pinned Node 24 (npm ci installs it)`);
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

  const work = join(outDir, 'sea');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const main = join(work, 'main.cjs');
  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  const binary = join(outDir, 'kubectl-dev');
  const complete = join(outDir, 'kubectl_complete-dev');

  let t = Date.now();
  const heavy = join(work, 'heavy.cjs');
  const heavyCache = join(work, 'heavy.cache');
  const split = await bundleSplit({
    root: ROOT,
    entry: join(ROOT, 'scripts', 'sea-entry.ts'),
    mainOut: main,
    heavyOut: heavy,
    common: {
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      // Smaller source, faster start (the code cache and the source both scale with it);
      // names kept for error messages and anything that reads constructor names.
      minify: true,
      keepNames: true,
      legalComments: 'none',
      logLevel: 'warning',
      define: { KUBECTL_DEV_VERSION: JSON.stringify(version) },
      plugins: [yargsAssert],
    },
  });
  // V8's code cache for heavy.cjs, made by the same Node as the one embedded (see sea-split.ts).
  execFileSync(node, ['-e', `const vm = require('node:vm'), fs = require('node:fs');
const code = fs.readFileSync(${JSON.stringify(heavy)}, 'utf8');
const script = new vm.Script(${JSON.stringify(HEAVY_PREFIX)} + code + ${JSON.stringify(HEAVY_SUFFIX)}, { filename: ${JSON.stringify(HEAVY_FILENAME)} });
fs.writeFileSync(${JSON.stringify(heavyCache)}, script.createCachedData());`]);
  log(`bundled ${main} (${(split.light / 1e3).toFixed(0)} KB, run at start) and ${heavy} (${(split.heavy / 1e6).toFixed(1)} MB, ${split.heavyModules} lazily loaded entry modules) in ${Date.now() - t} ms`);

  t = Date.now();
  writeFileSync(config, `${JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: !SNAPSHOT, useSnapshot: SNAPSHOT, assets: { 'heavy.cjs': heavy, 'heavy.cache': heavyCache } }, null, 2)}\n`);
  execFileSync(node, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  log(`SEA blob ${blob} (${(statSync(blob).size / 1e6).toFixed(1)} MB, ${SNAPSHOT ? 'startup snapshot' : 'code cache'}) in ${Date.now() - t} ms`);

  t = Date.now();
  const tmp = `${binary}.${process.pid}.tmp`;
  copyFileSync(node, tmp);
  chmodSync(tmp, 0o755);
  const { inject } = require('postject') as { inject: (file: string, name: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void> };
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  rmSync(binary, { force: true });
  copyFileSync(tmp, binary);
  chmodSync(binary, 0o755);
  rmSync(tmp, { force: true });
  log(`${binary} (${(statSync(binary).size / 1e6).toFixed(0)} MB, Node ${nodeVersion}) in ${Date.now() - t} ms`);

  writeFileSync(complete, COMPLETE_SCRIPT, { mode: 0o755 });
  chmodSync(complete, 0o755);
  log(`${complete}`);

  const check = execFileSync(binary, ['version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim();
  if (check !== `kubectl-dev ${version}`) throw new Error(`${binary} version printed "${check}", expected "kubectl-dev ${version}"`);
  return { binary, complete };
}

if (import.meta.main) {
  const outArg = process.argv.slice(2).find((a) => a.startsWith('--out='));
  const out = outArg ? resolve(outArg.slice('--out='.length)) : undefined;
  await buildBinary(out);
}
