// Finding the local syncthing: --syncthing PATH, then $KUBECTL_DEV_SYNCTHING, then
// `syncthing` on PATH. Its version decides the few CLI differences:
//   1.19–1.x: `syncthing serve --home=DIR`, `syncthing serve --home=DIR --device-id`,
//             `--version`; a monitor process runs the worker as a child.
//   2.x:      the same `serve --home=DIR` (single-dash long flags are gone, so only
//             double dashes are used), `syncthing device-id`, `syncthing version`;
//             `--no-default-folder` is gone (STNODEFAULTFOLDER is accepted by both).
// Flags that changed are avoided: restart, upgrade and default-folder behaviour are
// set through environment variables both generations read, logs are captured from
// stdout/stderr instead of --logfile.

import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { DevError } from '../core/errors.ts';

export const MIN_SYNCTHING = { major: 1, minor: 19, patch: 0 } as const;

export interface SyncthingBinary {
  path: string;
  /** e.g. "v1.19.2-ds1" */
  version: string;
  major: number;
  minor: number;
  patch: number;
  /** Where it was found. */
  source: 'flag' | 'env' | 'path';
}

export const INSTALL_HINT =
  `install syncthing ${MIN_SYNCTHING.major}.${MIN_SYNCTHING.minor} or newer (Debian/Ubuntu: apt-get install syncthing; macOS: brew install syncthing; ` +
  'others: https://syncthing.net/downloads/), then put it on PATH or pass its path with --syncthing PATH or $KUBECTL_DEV_SYNCTHING.';

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
    execFile(file, args, { timeout: 15_000, env: { ...process.env, STNOUPGRADE: '1' } }, (error, stdout, stderr) => {
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

/** Environment both generations read: no restart by the monitor (kubectl-dev supervises), no upgrades, no default folder, no browser. */
export function serveEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, STNORESTART: '1', STNOUPGRADE: '1', STNODEFAULTFOLDER: '1', STNOBROWSER: '1' };
  // Set by a monitor for its worker; inherited, it would make ours skip the monitor.
  delete env.STMONITORED;
  // syncthing before 1.29 benchmarks two SHA-256 packages for 0.9 s at every start before
  // it answers on REST; minio/sha256-simd is the one it picks on CPUs with SHA extensions
  // and falls back to Go's own package elsewhere, so naming it skips the benchmark and
  // changes nothing else (later versions have one package and ignore the variable).
  env.STHASHING ??= 'minio';
  return env;
}
