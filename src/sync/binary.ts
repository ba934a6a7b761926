// Finding the local syncthing: --syncthing PATH, then $KUBECTL_DEV_SYNCTHING, then the
// syncthing kubectl-dev carries (embedded in the single binary, or shipped in the npm
// package's dist/syncthing/; see "The embedded syncthing" below), then `syncthing` on PATH.
// Its version decides the few CLI differences:
//   1.19–1.x: `syncthing serve --home=DIR`, `syncthing serve --home=DIR --device-id`,
//             `--version`; a monitor process runs the worker as a child.
//   2.x:      the same `serve --home=DIR` (single-dash long flags are gone, so only
//             double dashes are used), `syncthing device-id`, `syncthing version`;
//             `--no-default-folder` is gone (STNODEFAULTFOLDER is accepted by both).
// Flags that changed are avoided: restart, upgrade and default-folder behaviour are
// set through environment variables both generations read, logs are captured from
// stdout/stderr instead of --logfile.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import * as sea from 'node:sea';
import { brotliDecompressSync } from 'node:zlib';
import { DevError } from '../core/errors.ts';

export const MIN_SYNCTHING = { major: 1, minor: 19, patch: 0 } as const;

export interface SyncthingBinary {
  path: string;
  /** e.g. "v1.19.2-ds1" */
  version: string;
  major: number;
  minor: number;
  patch: number;
  /** Where it was found: --syncthing, $KUBECTL_DEV_SYNCTHING, the one kubectl-dev carries, PATH. */
  source: 'flag' | 'env' | 'embedded' | 'path';
  /** For 'embedded': in the single binary, or in the npm package (dist/syncthing/). */
  embeddedIn?: 'binary' | 'package';
}

export const INSTALL_HINT =
  `install syncthing ${MIN_SYNCTHING.major}.${MIN_SYNCTHING.minor} or newer (Debian/Ubuntu: apt-get install syncthing; macOS: brew install syncthing; ` +
  'others: https://syncthing.net/downloads/), then put it on PATH or pass its path with --syncthing PATH or $KUBECTL_DEV_SYNCTHING ' +
  '(the single binary and the npm package carry their own; a checkout makes its own with npm run build:syncthing, which needs Go).';

/** Parses `syncthing v1.19.2-ds1 "Fermium Flea" (go1.19.8 linux-amd64) …` (also 2.x's `syncthing version` output). */
export function parseVersion(output: string): { version: string; major: number; minor: number; patch: number } | undefined {
  const match = /\bv?(\d+)\.(\d+)\.(\d+)([-+][\w.+-]*)?/.exec(output);
  if (!match) return undefined;
  return { version: `v${match[1]}.${match[2]}.${match[3]}${match[4] ?? ''}`, major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/**
 * syncthing 1.28 and later (multiple connections per device) use a new connection only a
 * second after it came up: until then they send no cluster config, and get no index.
 */
export function delaysNewConnections(v: { major: number; minor: number }): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 28);
}

export function isSupported(v: { major: number; minor: number; patch: number }): boolean {
  if (v.major !== MIN_SYNCTHING.major) return v.major > MIN_SYNCTHING.major;
  if (v.minor !== MIN_SYNCTHING.minor) return v.minor > MIN_SYNCTHING.minor;
  return v.patch >= MIN_SYNCTHING.patch;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `syncthing` on PATH (with PATHEXT on Windows). */
export function whichSyncthing(env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, `syncthing${ext.toLowerCase()}`);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

export type RunForOutput = (file: string, args: string[]) => Promise<string>;

const runForOutput: RunForOutput = (file, args) =>
  new Promise((resolvePromise, reject) => {
    execFile(file, args, { timeout: 15_000, env: serveEnv(process.env) }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { output: `${stdout}${stderr}` }));
      else resolvePromise(`${stdout}${stderr}`);
    });
  });

export interface FindOptions {
  /** --syncthing PATH */
  flag?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  run?: RunForOutput;
  /** The syncthing kubectl-dev carries (default: the binary's or the package's, see embeddedSyncthing); false: none. */
  embedded?: EmbeddedSyncthing | false;
}

/** Finds the binary and checks its version; throws SYNCTHING_NOT_FOUND or SYNCTHING_TOO_OLD with how to install it. */
export async function findSyncthing(options: FindOptions): Promise<SyncthingBinary> {
  const run = options.run ?? runForOutput;
  let path: string | undefined;
  let source: SyncthingBinary['source'];
  if (options.flag) {
    path = isAbsolute(options.flag) ? options.flag : resolve(options.cwd, options.flag);
    source = 'flag';
  } else if (options.env.KUBECTL_DEV_SYNCTHING) {
    path = resolve(options.cwd, options.env.KUBECTL_DEV_SYNCTHING);
    source = 'env';
  } else {
    const embedded = options.embedded ?? embeddedSyncthing();
    if (embedded) {
      const unpacked = unpackSyncthing(embedded, options.env);
      const output = await run(unpacked, ['--version']).catch((error: Error & { output?: string }) => {
        throw new DevError('SYNCTHING_FAILED', `the embedded syncthing ${embedded.version} (${unpacked}) did not start: ${(error.output || error.message).trim().split('\n')[0]}`,
          'pass another syncthing with --syncthing PATH or $KUBECTL_DEV_SYNCTHING, and report this as a bug.');
      });
      const version = parseVersion(output);
      if (!version || version.version.split(/[-+]/)[0] !== embedded.version.split(/[-+]/)[0]) {
        throw new DevError('SYNCTHING_FAILED', `the embedded syncthing at ${unpacked} reports "${output.trim().split('\n')[0]}", not ${embedded.version}`, 'report this as a bug; meanwhile pass a syncthing with --syncthing PATH.');
      }
      return { path: unpacked, source: 'embedded', embeddedIn: embedded.in, ...version };
    }
    path = whichSyncthing(options.env);
    source = 'path';
  }
  const from = source === 'flag' ? '--syncthing' : source === 'env' ? '$KUBECTL_DEV_SYNCTHING' : 'PATH';
  if (path === undefined) {
    throw new DevError('SYNCTHING_NOT_FOUND', 'syncthing was not found on PATH', INSTALL_HINT);
  }
  if (!isExecutableFile(path)) {
    throw new DevError('SYNCTHING_NOT_FOUND', `syncthing from ${from} (${path}) is not an executable file`, INSTALL_HINT);
  }
  let output: string;
  try {
    output = await run(path, ['--version']);
  } catch {
    // 2.x prefers the subcommand.
    try {
      output = await run(path, ['version']);
    } catch (error) {
      throw new DevError('SYNCTHING_NOT_FOUND', `${path} (from ${from}) did not report a version: ${(error as Error).message.split('\n')[0]}`, INSTALL_HINT);
    }
  }
  const version = parseVersion(output);
  if (!version || !/syncthing/i.test(output)) {
    throw new DevError('SYNCTHING_NOT_FOUND', `${path} (from ${from}) does not look like syncthing: "${output.trim().split('\n')[0]}"`, INSTALL_HINT);
  }
  if (!isSupported(version)) {
    throw new DevError('SYNCTHING_TOO_OLD', `syncthing ${version.version} at ${path} is too old; kubectl-dev needs ${MIN_SYNCTHING.major}.${MIN_SYNCTHING.minor} or newer`, INSTALL_HINT);
  }
  return { path, source, ...version };
}

/** Arguments that print the device ID of the certificate in `home`. */
export function deviceIdArgs(binary: Pick<SyncthingBinary, 'major'>, home: string): string[] {
  return binary.major >= 2 ? ['device-id', `--home=${home}`] : ['serve', `--home=${home}`, '--device-id'];
}

/** Arguments that run syncthing with `home` (config, keys and database). */
export function serveArgs(home: string): string[] {
  return ['serve', `--home=${home}`];
}

/** syncthing's variables a user's shell may hold that kubectl-dev's syncthing must not inherit (tracing and STHASHING may stay). */
const KEPT_ST_VARIABLES = new Set(['STTRACE', 'STHASHING']);

/** Environment both generations read: no restart by the monitor (kubectl-dev supervises), no upgrades, no default folder, no browser. */
export function serveEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // None of the user's own syncthing settings: STGUIADDRESS would move the REST address away
  // from the one kubectl-dev configured, STHOMEDIR/STCONFDIR/STDATADIR the config, keys and
  // database away from the session's home (--home and they conflict: syncthing refuses to
  // start), STGUIAPIKEY would let another key in, STPROFILER open a listener, STMONITORED
  // (set by a monitor for its worker) make ours skip the monitor, STRESTART and the profile
  // and debug switches change how it runs.
  for (const [name, value] of Object.entries(base)) if (!/^ST[A-Z0-9_]+$/.test(name) || KEPT_ST_VARIABLES.has(name)) env[name] = value;
  Object.assign(env, { STNORESTART: '1', STNOUPGRADE: '1', STNODEFAULTFOLDER: '1', STNOBROWSER: '1' });
  // syncthing before 1.29 benchmarks two SHA-256 packages for 0.9 s at every start before
  // it answers on REST; minio/sha256-simd is the one it picks on CPUs with SHA extensions
  // and falls back to Go's own package elsewhere, so naming it skips the benchmark and
  // changes nothing else (later versions have one package and ignore the variable).
  env.STHASHING ??= 'minio';
  return env;
}

// The embedded syncthing. The single binary carries the syncthing kubectl-dev was built with
// (scripts/syncthing.ts: the default sidecar image's version, static, tags noassets,noupgrade)
// as two SEA assets: `syncthing.br` (the executable, brotli-compressed) and `syncthing.json`
// ({ version, platform, sha256, size }). The npm package carries the same for every platform in
// dist/syncthing/ (manifest.json and syncthing-<version>-<platform>.br; a checkout's `npm ci`
// puts there the host's, uncompressed). Either is unpacked on
// first use into the user's cache dir, in a directory per version and checksum:
//   $XDG_CACHE_HOME/kubectl-dev/syncthing/<version>-<sha256 prefix>/syncthing
//   (~/.cache/… without XDG_CACHE_HOME; ~/Library/Caches/kubectl-dev/… on macOS;
//   %LOCALAPPDATA%\kubectl-dev\cache\… on Windows)
// The directories kubectl-dev makes there are 0700 and must be the user's own; the executable's
// sha256 is checked before every use (a mismatch is unpacked again); concurrent first runs each
// write their own temporary file and rename it into place, so every run sees a whole file.

export interface EmbeddedSyncthing {
  version: string;
  /** process.platform-process.arch it was built for. */
  platform: string;
  /** sha256 of the uncompressed executable. */
  sha256: string;
  size: number;
  in: 'binary' | 'package';
  /** The executable's bytes: brotli-compressed (the binary, the npm package), or as built (a checkout's dist/syncthing/). */
  data: () => { bytes: Uint8Array; compressed: boolean };
}

export function hostPlatform(): string {
  return `${process.platform}-${process.arch}`;
}

function seaAsset(name: string): ArrayBuffer | undefined {
  try {
    return sea.getRawAsset(name) as ArrayBuffer;
  } catch {
    return undefined;
  }
}

/** The package's root: the nearest directory above `from` with kubectl-dev's package.json. */
export function packageRoot(from: string): string | undefined {
  for (let dir = from, up = 0; up < 8; dir = dirname(dir), up++) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'kubectl-dev') return dir;
    } catch { /* none here */ }
    if (dirname(dir) === dir) break;
  }
  return undefined;
}

/** The running program's file: the bundle (dist/kubectl-dev.cjs, also under npm i -g, npm link, npx), else the script node was given. */
export function programFiles(): string[] {
  const files: string[] = [];
  if (typeof __filename === 'string') files.push(__filename);
  if (process.argv[1]) files.push(process.argv[1]);
  return files.flatMap((file) => {
    try {
      return [realpathSync(file)];
    } catch {
      return [];
    }
  });
}

/** The syncthing this kubectl-dev carries for this platform: in the single binary, or in its npm package; undefined without one. */
export function embeddedSyncthing(): EmbeddedSyncthing | undefined {
  if (sea.isSea()) {
    const meta = seaAsset('syncthing.json');
    const data = seaAsset('syncthing.br');
    if (!meta || !data) return undefined;
    const info = JSON.parse(Buffer.from(meta).toString('utf8')) as Omit<EmbeddedSyncthing, 'in' | 'data'>;
    if (info.platform !== hostPlatform()) return undefined;
    return { ...info, in: 'binary', data: () => ({ bytes: new Uint8Array(data), compressed: true }) };
  }
  for (const file of programFiles()) {
    const root = packageRoot(dirname(file));
    if (root === undefined) continue;
    const dir = join(root, 'dist', 'syncthing');
    let manifest: { version: string; platforms: Record<string, { file: string; sha256: string; size: number }> };
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    } catch {
      continue;
    }
    const entry = manifest.platforms[hostPlatform()];
    if (!entry) return undefined;
    return { version: manifest.version, platform: hostPlatform(), sha256: entry.sha256, size: entry.size, in: 'package',
      data: () => ({ bytes: readFileSync(join(dir, entry.file)), compressed: entry.file.endsWith('.br') }) };
  }
  return undefined;
}

/** kubectl-dev's cache dir (the unpacked syncthing). */
export function cacheDir(env: NodeJS.ProcessEnv, home = homedir()): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'kubectl-dev');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'kubectl-dev', 'cache');
  if (process.platform === 'darwin') return join(home, 'Library', 'Caches', 'kubectl-dev');
  return join(home, '.cache', 'kubectl-dev');
}

function unsafe(message: string): DevError {
  return new DevError('SYNCTHING_FAILED', message, 'remove it (kubectl-dev makes it again, private to you) or pass a syncthing with --syncthing PATH.');
}

/** Makes `dir` (and the parents it lacks) 0700; refuses one that is a link, not the user's own, or open to others and not fixable. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw unsafe(`${dir} is not a directory`);
  if (st.uid !== process.getuid!()) throw unsafe(`${dir} belongs to uid ${st.uid}, not to you`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

function sha256Of(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/** The embedded syncthing as an executable file in the cache dir, unpacked if missing or not the expected bytes; returns its path. */
export function unpackSyncthing(embedded: EmbeddedSyncthing, env: NodeJS.ProcessEnv): string {
  const base = join(cacheDir(env), 'syncthing');
  const dir = join(base, `${embedded.version}-${embedded.sha256.slice(0, 16)}`);
  privateDir(join(base, '..'));
  privateDir(base);
  privateDir(dir);
  const file = join(dir, process.platform === 'win32' ? 'syncthing.exe' : 'syncthing');
  if (existsSync(file)) {
    const st = lstatSync(file);
    if (!st.isFile()) throw unsafe(`${file} is not a regular file`);
    if (sha256Of(file) === embedded.sha256) return file;
  }
  const source = embedded.data();
  const data = source.compressed ? brotliDecompressSync(source.bytes) : source.bytes;
  if (createHash('sha256').update(data).digest('hex') !== embedded.sha256) {
    throw new DevError('SYNCTHING_FAILED', `the syncthing embedded in kubectl-dev (${embedded.in === 'binary' ? 'the binary' : 'its package'}) does not match its checksum`, 'the file is damaged: install kubectl-dev again.');
  }
  const tmp = join(dir, `.syncthing.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o700);
  try {
    for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    // Windows cannot replace an executable that runs: another run unpacked it meanwhile.
    if (sha256Of(file) !== embedded.sha256) throw error;
  }
  if (sha256Of(file) !== embedded.sha256) throw unsafe(`${file} changed while it was unpacked`);
  return file;
}
