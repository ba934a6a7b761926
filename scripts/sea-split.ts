// Two bundles for the single executable, so that a start compiles only what it runs:
//
//   main.cjs   the SEA's main script: the entry, yargs, the command table and what they import
//              statically (the "light" set) — a few hundred KB;
//   heavy.cjs  everything reached only through `await import(…)` in command handlers
//              (client-node, yaml, node-forge, src/live, src/kube, src/sync, src/render, …),
//              embedded as a SEA asset with its own V8 code cache and compiled on first use.
//
// One module, one instance: heavy.cjs does not bundle any module of the light set (DevError
// must stay one class); it gets them from main.cjs through `__kdLight(path)`. main.cjs reaches
// a heavy module through `__kdHeavy(path)`, which loads heavy.cjs once. Paths are relative to
// the repository root.

import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

export interface SplitOptions {
  root: string;
  entry: string;
  mainOut: string;
  heavyOut: string;
  common: BuildOptions;
}

/** heavy.cjs is written inside this function header, compiled as it is by main.cjs (the code cache is made for exactly this source and name). */
const HEAVY_PREFIX = '(function (exports, require, module, __filename, __dirname, __kdLight) {';
const HEAVY_SUFFIX = '\n})';
export const HEAVY_FILENAME = 'kubectl-dev-heavy.cjs';
/** The heavy.cache asset starts with a marker (found in the binary to write the cache in place) and the cache's length (uint32 LE). */
export const CACHE_HEADER_BYTES = 32;

const SKIP = Symbol.for('kubectl-dev.sea-split.skip');

async function resolvePath(b: Parameters<Plugin['setup']>[0], args: { path: string; resolveDir: string; kind: string; importer: string; pluginData?: unknown }): Promise<string | undefined> {
  if (args.pluginData === SKIP) return undefined;
  const result = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind as never, importer: args.importer, pluginData: SKIP });
  if (result.errors.length > 0 || result.external || !isAbsolute(result.path)) return undefined;
  return result.path;
}

/** Pass 1: which modules the entry reaches statically (dynamic imports left out). */
async function lightSet(options: SplitOptions): Promise<Set<string>> {
  const cut: Plugin = {
    name: 'cut-dynamic',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
    },
  };
  const result = await build({ ...options.common, entryPoints: [options.entry], write: false, outfile: options.mainOut, metafile: true, minify: false, plugins: [...(options.common.plugins ?? []), cut] });
  return new Set(Object.keys(result.metafile!.inputs).filter((p) => !p.includes(':')).map((p) => join(options.root, p)));
}

export async function bundleSplit(options: SplitOptions): Promise<{ light: number; heavy: number; heavyModules: number }> {
  const light = await lightSet(options);
  const key = (abs: string) => relative(options.root, abs);
  const heavyEntries = new Set<string>();

  // Pass 2: main.cjs, dynamic imports of modules outside the light set go to heavy.cjs.
  const toHeavy: Plugin = {
    name: 'to-heavy',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const abs = await resolvePath(b, args);
        if (abs === undefined || light.has(abs)) return undefined;
        heavyEntries.add(abs);
        return { path: `HEAVY:${key(abs)}`, external: true };
      });
    },
  };
  // The registry of light modules for heavy.cjs; the entry runs last.
  const lightModules = [...light].filter((p) => p !== options.entry);
  const registry = [
    ...lightModules.map((p, i) => `import * as m${i} from ${JSON.stringify(p)};`),
    `const modules = {${lightModules.map((p, i) => `${JSON.stringify(key(p))}: m${i}`).join(', ')}};`,
    'globalThis.__kdLightModules = modules;',
    `import ${JSON.stringify(options.entry)};`,
  ].join('\n');
  const heavyLoader = `
var __kdHeavyExports;
function __kdLight(path) {
  const m = globalThis.__kdLightModules[path];
  if (!m) throw new Error("kubectl-dev: module " + path + " missing from the main bundle");
  return m;
}
function __kdHeavy(path) {
  if (!__kdHeavyExports) {
    const sea = require("node:sea"), vm = require("node:vm");
    const inSea = sea.isSea();
    // heavy.cjs is ASCII and already wrapped in its function header: read as latin1 straight into
    // a one-byte string (no UTF-8 decoding, no concatenation: a start copies 3 MB less).
    const code = inSea ? Buffer.from(sea.getRawAsset ? sea.getRawAsset("heavy.cjs") : sea.getAsset("heavy.cjs")).toString("latin1") : require("node:fs").readFileSync(require("node:path").join(__dirname, "heavy.cjs"), "latin1");
    // heavy.cache: a ${CACHE_HEADER_BYTES}-byte header (marker, then the cache's length), the cache, padding.
    let cachedData;
    if (inSea) {
      // getRawAsset: a view of the binary's own memory, no copy (read only, as V8 reads it).
      const raw = Buffer.from(sea.getRawAsset ? sea.getRawAsset("heavy.cache") : sea.getAsset("heavy.cache"));
      const length = raw.readUInt32LE(${CACHE_HEADER_BYTES} - 4);
      if (length > 0) cachedData = raw.subarray(${CACHE_HEADER_BYTES}, ${CACHE_HEADER_BYTES} + length);
    }
    const script = new vm.Script(code, { filename: ${JSON.stringify(HEAVY_FILENAME)}, cachedData });
    if (process.env.KUBECTL_DEV_DEBUG && cachedData && script.cachedDataRejected) process.stderr.write("kubectl-dev: code cache of heavy.cjs rejected\\n");
    const module = { exports: {} };
    script.runInThisContext()(module.exports, require, module, __filename, __dirname, __kdLight);
    __kdHeavyExports = module.exports.modules;
    // Only while the binary is built (scripts/build-binary.ts): evaluate every module, run the
    // command, and write the code cache at exit, from inside the SEA (a cache made by plain node
    // is rejected there).
    const train = process.env.KUBECTL_DEV_BUILD_HEAVY_CACHE;
    if (train) {
      for (const load of Object.values(__kdHeavyExports)) load();
      process.on("exit", () => require("node:fs").writeFileSync(train, script.createCachedData()));
    }
  }
  const load = __kdHeavyExports[path];
  if (!load) throw new Error("kubectl-dev: module " + path + " missing from the heavy bundle");
  return load();
}`;
  await build({
    ...options.common,
    stdin: { contents: registry, resolveDir: options.root, sourcefile: 'sea-main.js', loader: 'js' },
    outfile: options.mainOut,
    banner: { js: heavyLoader },
    plugins: [...(options.common.plugins ?? []), toHeavy],
  });
  let main = readFileSync(options.mainOut, 'utf8');
  main = main
    .replace(/\bimport\("HEAVY:([^"]+)"\)/g, (_m, path: string) => `Promise.resolve().then(()=>__kdHeavy(${JSON.stringify(path)}))`)
    .replace(/\brequire\("HEAVY:([^"]+)"\)/g, (_m, path: string) => `__kdHeavy(${JSON.stringify(path)})`);
  if (main.includes('HEAVY:')) throw new Error('sea-split: an import of a heavy module was not rewritten');
  writeFileSync(options.mainOut, main);

  // heavy.cjs: every heavy entry, loaded lazily; light modules come from main.cjs.
  const toLight: Plugin = {
    name: 'to-light',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point') return undefined;
        const abs = await resolvePath(b, args);
        if (abs === undefined || !light.has(abs)) return undefined;
        return { path: `LIGHT:${key(abs)}`, external: true };
      });
    },
  };
  const entries = [...heavyEntries];
  const heavyEntry = `export const modules = {${entries.map((p) => `${JSON.stringify(key(p))}: () => require(${JSON.stringify(p)})`).join(', ')}};`;
  await build({
    ...options.common,
    stdin: { contents: heavyEntry, resolveDir: options.root, sourcefile: 'sea-heavy.js', loader: 'js' },
    outfile: options.heavyOut,
    plugins: [...(options.common.plugins ?? []), toLight],
  });
  let heavy = readFileSync(options.heavyOut, 'utf8');
  heavy = heavy
    .replace(/\bimport\("LIGHT:([^"]+)"\)/g, (_m, path: string) => `Promise.resolve().then(()=>__kdLight(${JSON.stringify(path)}))`)
    .replace(/\brequire\("LIGHT:([^"]+)"\)/g, (_m, path: string) => `__kdLight(${JSON.stringify(path)})`);
  if (heavy.includes('LIGHT:')) throw new Error('sea-split: an import of a light module was not rewritten');
  heavy = HEAVY_PREFIX + heavy + HEAVY_SUFFIX;
  // The loader reads it as latin1 (esbuild escapes non-ASCII characters by default).
  if (/[^\x00-\x7f]/.test(heavy)) throw new Error('sea-split: heavy.cjs is not ASCII');
  writeFileSync(options.heavyOut, heavy);
  return { light: main.length, heavy: heavy.length, heavyModules: entries.length };
}
