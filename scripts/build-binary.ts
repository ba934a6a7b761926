// Builds dist/kubectl-dev: one executable for linux-x64 with no run-time dependency on
// node_modules, made offline from the registry packages alone:
//   1. esbuild bundles scripts/sea-entry.ts (src/bin.ts with lazily created std streams) into
//      main.cjs (what every start runs) and heavy.cjs (what command handlers import lazily),
//      see scripts/sea-split.ts;
//   2. the pinned Node 24 (node_modules/node/bin/node) turns them into a SEA blob
//      (`--experimental-sea-config`, no experimental warning; main.cjs as a V8 startup snapshot,
//      or with a code cache when KUBECTL_DEV_SEA_SNAPSHOT=0; heavy.cjs and its code cache as assets);
//   3. a copy of that Node binary gets the blob injected with postject; it runs once to make
//      heavy.cjs's code cache (trainHeavyCache), which is then written into it in place.
// Also writes dist/kubectl_complete-dev, the script kubectl runs for `kubectl dev <TAB>`.
//
//   npm run build:binary            build both
//   node scripts/build-binary.ts --out=DIR   write them to DIR instead of dist/

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { bundleSplit, CACHE_HEADER_BYTES } from './sea-split.ts';

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

/**
 * Runs the SEA binary once so that it writes heavy.cjs's code cache when it exits: every heavy
 * module evaluated, then a live command up to its first request. With `check`, runs it the
 * same way and fails if the embedded cache is rejected.
 */
function trainHeavyCache(binary: string, work: string, out: string, check = false): void {
  const kubeconfig = join(work, 'train-kubeconfig');
  // Port 1 on loopback: refused at once, so the command runs its request path and fails fast.
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: train, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: train, user: {token: train}}]
contexts: [{name: train, context: {cluster: train, user: train, namespace: default}}]
current-context: train
`);
  if (!check) rmSync(out, { force: true });
  // The command fails (nothing listens there): its exit code does not matter, the cache does.
  const run = spawnSync(binary, ['start', 'deploy/train', '--no-sync', '-q', '--kubeconfig', kubeconfig], {
    cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: work, ...(check ? { KUBECTL_DEV_DEBUG: '1' } : { KUBECTL_DEV_BUILD_HEAVY_CACHE: out }) },
  });
  rmSync(kubeconfig);
  if (check) {
    if (/code cache of heavy\.cjs rejected/.test(run.stderr)) throw new Error(`${binary} rejects its code cache of heavy.cjs`);
  } else if (!existsSync(out) || statSync(out).size === 0) throw new Error(`the training run of ${binary} did not write ${out}`);
}

/** Marker at the start of the heavy.cache asset (28 bytes + the uint32 length = CACHE_HEADER_BYTES). */
const CACHE_MARKER = Buffer.from('kubectl-dev heavy code cache');

/**
 * The code cache goes into the binary that made it, in place: a V8 code cache holds the
 * checksum of the startup snapshot, and building the SEA blob again makes another snapshot
 * (not byte-for-byte reproducible), which would reject it.
 */
function writeCacheInPlace(binary: string, cache: Buffer, reserved: number): void {
  if (cache.length > reserved) throw new Error(`the code cache of heavy.cjs (${cache.length} bytes) is larger than the space reserved for it (${reserved} bytes)`);
  const bytes = readFileSync(binary);
  const at = bytes.indexOf(CACHE_MARKER);
  if (at < 0 || bytes.indexOf(CACHE_MARKER, at + 1) >= 0) throw new Error(`${binary}: the heavy.cache asset's marker was not found exactly once`);
  bytes.writeUInt32LE(cache.length, at + CACHE_HEADER_BYTES - 4);
  cache.copy(bytes, at + CACHE_HEADER_BYTES);
  writeFileSync(binary, bytes);
}

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
  log(`bundled ${main} (${(split.light / 1e3).toFixed(0)} KB, run at start) and ${heavy} (${(split.heavy / 1e6).toFixed(1)} MB, ${split.heavyModules} lazily loaded entry modules) in ${Date.now() - t} ms`);

  // V8's code cache for heavy.cjs. One made right after compiling holds only the top-level code,
  // and V8 then compiles client-node's functions lazily at every start (~100 ms of `start`). So
  // the binary is built with room for a cache, runs a command once, writes the cache of what it
  // compiled, and that cache is written into the binary in place (see writeCacheInPlace).
  t = Date.now();
  // Room for the cache: it comes out at ~0.95× the source size (too little room fails the build
  // below). No more than needed: a larger binary measured ~3 ms slower to start `version`.
  const reserved = Math.ceil(1.1 * split.heavy);
  const placeholder = Buffer.alloc(CACHE_HEADER_BYTES + reserved);
  CACHE_MARKER.copy(placeholder);
  writeFileSync(heavyCache, placeholder);
  writeFileSync(config, `${JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: !SNAPSHOT, useSnapshot: SNAPSHOT, assets: { 'heavy.cjs': heavy, 'heavy.cache': heavyCache } }, null, 2)}\n`);
  execFileSync(node, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tmp = `${binary}.${process.pid}.tmp`;
  copyFileSync(node, tmp);
  chmodSync(tmp, 0o755);
  const { inject } = require('postject') as { inject: (file: string, name: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void> };
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  log(`SEA blob ${blob} (${(statSync(blob).size / 1e6).toFixed(1)} MB, ${SNAPSHOT ? 'startup snapshot' : 'code cache'}) injected in ${Date.now() - t} ms`);

  t = Date.now();
  const trained = join(work, 'heavy.trained-cache');
  trainHeavyCache(tmp, work, trained);
  writeCacheInPlace(tmp, readFileSync(trained), reserved);
  trainHeavyCache(tmp, work, trained, true);
  rmSync(binary, { force: true });
  copyFileSync(tmp, binary);
  chmodSync(binary, 0o755);
  rmSync(tmp, { force: true });
  log(`${binary} (${(statSync(binary).size / 1e6).toFixed(0)} MB, Node ${nodeVersion}), code cache of heavy.cjs (${(statSync(trained).size / 1e6).toFixed(1)} MB) from a training run, in ${Date.now() - t} ms`);

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
