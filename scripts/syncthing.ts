// The syncthing kubectl-dev carries: built by the project from the syncthing Go module at the
// version of the default sidecar image (DEFAULT_SIDECAR_IMAGE's tag), for every platform the
// binary ships for, so that the laptop and the sidecar run the same syncthing everywhere.
//
//   static (CGO_ENABLED=0), tags noassets (no web GUI: kubectl-dev talks REST) and noupgrade,
//   -trimpath, stripped, the version stamped as syncthing's own build stamps it.
//
// Each build is made once and kept under the system's temp dir (the tests run the sidecar as
// uid 1000 when they run as root, and ~root is closed to that user):
//   <tmp>/kubectl-dev-test-tools/syncthing-<version>[-<platform>]/syncthing[.exe]
// with its brotli-compressed copy (syncthing.br, what the binary and the npm package carry).
// Go cross-compiles every platform from here (darwin without cgo: its file watcher is kqueue
// instead of FSEvents, kubectl-dev's own watcher is the first one anyway).
//
//   node scripts/syncthing.ts                    the host's, prints its path
//   node scripts/syncthing.ts --all              every platform of PLATFORMS
//   node scripts/syncthing.ts --package [DIR]    every platform, compressed, into DIR (default
//                                                dist/syncthing) with manifest.json (npm's files)
//   node scripts/syncthing.ts --checkout         the host's into dist/syncthing (npm ci, npm link:
//                                                for kubectl-dev run from the checkout, npx, tests)

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DEFAULT_SIDECAR_IMAGE } from '../src/core/settings.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Node's names (process.platform-process.arch) of the platforms kubectl-dev ships for. */
export const PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const SYNCTHING_VERSION = `v${DEFAULT_SIDECAR_IMAGE.split(':').pop()}`;

export function hostPlatform(): string {
  return `${process.platform}-${process.arch}`;
}

export function goTarget(platform: string): { GOOS: string; GOARCH: string } {
  const [nodeOs, nodeArch] = platform.split('-') as [string, string];
  const GOOS = nodeOs === 'win32' ? 'windows' : nodeOs;
  const GOARCH = nodeArch === 'x64' ? 'amd64' : nodeArch;
  return { GOOS, GOARCH };
}

export function exeName(platform: string): string {
  return platform.startsWith('win32-') ? 'syncthing.exe' : 'syncthing';
}

export interface BuildSpec {
  version?: string;
  platform?: string;
  /** Go build tags (default noassets,noupgrade). */
  tags?: readonly string[];
}

/** Where the build of `spec` is kept. The host's linux-x64 build of the default version keeps its historic path. */
export function syncthingBuildPath(spec: BuildSpec = {}): string {
  const version = spec.version ?? SYNCTHING_VERSION;
  const platform = spec.platform ?? hostPlatform();
  const tags = spec.tags ?? ['noassets', 'noupgrade'];
  const suffix = `${platform === 'linux-x64' ? '' : `-${platform}`}${tags.join(',') === 'noassets,noupgrade' ? '' : `-${tags.join('+')}`}`;
  return path.join(os.tmpdir(), 'kubectl-dev-test-tools', `syncthing-${version}${suffix}`, exeName(platform));
}

/** For a binary this machine can run: does it report `version`? */
export function reportsVersion(bin: string, version: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, STNOUPGRADE: '1' } });
  return r.status === 0 && r.stdout.includes(`syncthing ${version} `);
}

/** The ELF, Mach-O or PE header says the file is for `platform`. */
export function isExecutableFor(file: string, platform: string): boolean {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4096);
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const { GOOS, GOARCH } = goTarget(platform);
  if (GOOS === 'linux') {
    if (head.readUInt32BE(0) !== 0x7f454c46) return false;
    return head.readUInt16LE(18) === (GOARCH === 'amd64' ? 62 : 183); // EM_X86_64, EM_AARCH64
  }
  if (GOOS === 'darwin') {
    if (head.readUInt32LE(0) !== 0xfeedfacf) return false;
    return head.readUInt32LE(4) === (GOARCH === 'amd64' ? 0x01000007 : 0x0100000c); // CPU_TYPE_X86_64, CPU_TYPE_ARM64
  }
  if (head.toString('latin1', 0, 2) !== 'MZ') return false;
  const pe = head.readUInt32LE(0x3c);
  return head.readUInt32BE(pe) === 0x50450000 && head.readUInt16LE(pe + 4) === 0x8664; // IMAGE_FILE_MACHINE_AMD64
}

function runnableHere(platform: string): boolean {
  return platform === hostPlatform();
}

function usable(out: string, version: string, platform: string): boolean {
  if (!fs.existsSync(out)) return false;
  return runnableHere(platform) ? reportsVersion(out, version) : isExecutableFor(out, platform);
}

/** The module's source, downloaded through the Go module proxy, copied writable into `work`. */
function moduleSource(version: string, work: string): string {
  const moduleDir = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `github.com/syncthing/syncthing@${version}`], {
    cwd: work, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' }, stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000,
  })).Dir as string;
  const src = path.join(work, 'src');
  fs.cpSync(moduleDir, src, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', src]);
  return src;
}

/**
 * Builds syncthing for `spec` (default: the sidecar's version, for this machine) unless a good
 * build is kept already; returns its path. Checks it: runs `--version` where it can, else the
 * executable header's format and architecture.
 */
export function buildSyncthing(spec: BuildSpec = {}): string {
  const version = spec.version ?? SYNCTHING_VERSION;
  const platform = spec.platform ?? hostPlatform();
  const tags = spec.tags ?? ['noassets', 'noupgrade'];
  const out = syncthingBuildPath({ version, platform, tags });
  if (usable(out, version, platform)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o755 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'syncthing-build-'));
  const t = Date.now();
  try {
    const src = moduleSource(version, work);
    const tmp = `${out}.${process.pid}.tmp`;
    const pkg = 'github.com/syncthing/syncthing/lib/build';
    // The stamps syncthing's own build.go sets; fixed values, so that the same Go builds the same bytes.
    const ldflags = `-s -w -X ${pkg}.Version=${version} -X ${pkg}.Stamp=0 -X ${pkg}.User=kubectl-dev -X ${pkg}.Host=kubectl-dev`;
    execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-tags', tags.join(','), '-ldflags', ldflags, '-o', tmp, './cmd/syncthing'], {
      cwd: src, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000,
      env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off', CGO_ENABLED: '0', ...goTarget(platform) },
    });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, out); // atomic: parallel workers may race here
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (!usable(out, version, platform)) throw new Error(`the syncthing ${version} built at ${out} is not a working ${platform} executable`);
  process.stderr.write(`syncthing: built ${version} for ${platform} (${(fs.statSync(out).size / 1e6).toFixed(1)} MB) in ${((Date.now() - t) / 1000).toFixed(0)} s: ${out}\n`);
  return out;
}

export interface PackedSyncthing {
  version: string;
  platform: string;
  /** The uncompressed executable's sha256 (checked before every use). */
  sha256: string;
  size: number;
  /** The brotli-compressed executable. */
  compressed: string;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The build for `platform`, and its brotli-compressed copy next to it (made once). */
export function packedSyncthing(platform: string, version = SYNCTHING_VERSION): PackedSyncthing {
  const bin = buildSyncthing({ version, platform });
  const compressed = `${bin}.br`;
  const sha256 = sha256File(bin);
  const stamp = `${compressed}.sha256`;
  if (!fs.existsSync(compressed) || !fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== sha256) {
    const data = fs.readFileSync(bin);
    const packed = zlib.brotliCompressSync(data, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_LGWIN]: 24, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    } });
    if (!zlib.brotliDecompressSync(packed).equals(data)) throw new Error(`brotli round trip of ${bin} failed`);
    fs.writeFileSync(`${compressed}.${process.pid}.tmp`, packed);
    fs.renameSync(`${compressed}.${process.pid}.tmp`, compressed);
    fs.writeFileSync(stamp, sha256);
  }
  return { version, platform, sha256, size: fs.statSync(bin).size, compressed };
}

/** The manifest next to the packaged copies (read by src/sync/binary.ts). */
export interface PackageManifest {
  version: string;
  platforms: Record<string, { file: string; sha256: string; size: number }>;
}

/**
 * Writes the compressed syncthing of each platform into `dir` with manifest.json: what the npm
 * package (and a checkout's dist/) gives `kubectl-dev` run on Node.
 */
export function packageSyncthing(dir = path.join(ROOT, 'dist', 'syncthing'), platforms: readonly string[] = PLATFORMS): PackageManifest {
  fs.mkdirSync(dir, { recursive: true });
  const manifest: PackageManifest = { version: SYNCTHING_VERSION, platforms: {} };
  for (const platform of platforms) {
    const packed = packedSyncthing(platform);
    const file = `syncthing-${SYNCTHING_VERSION}-${platform}.br`;
    fs.copyFileSync(packed.compressed, path.join(dir, file));
    manifest.platforms[platform] = { file, sha256: packed.sha256, size: packed.size };
  }
  for (const stale of fs.readdirSync(dir)) {
    if (stale.startsWith('syncthing-') && !Object.values(manifest.platforms).some((p) => p.file === stale)) fs.rmSync(path.join(dir, stale));
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * A checkout's dist/syncthing: the host's build, uncompressed (compressing takes a minute; the
 * package made by npm pack has every platform compressed). Kept as it is when it already has
 * this host's syncthing of this version.
 */
export function checkoutSyncthing(dir = path.join(ROOT, 'dist', 'syncthing')): PackageManifest {
  const platform = hostPlatform();
  try {
    const current = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as PackageManifest;
    const entry = current.platforms[platform];
    if (current.version === SYNCTHING_VERSION && entry && fs.existsSync(path.join(dir, entry.file))) return current;
  } catch { /* none yet */ }
  const bin = buildSyncthing({ platform });
  fs.mkdirSync(dir, { recursive: true });
  const file = `syncthing-${SYNCTHING_VERSION}-${platform}${platform.startsWith('win32') ? '.exe' : ''}`;
  fs.copyFileSync(bin, path.join(dir, file));
  fs.chmodSync(path.join(dir, file), 0o755);
  const manifest: PackageManifest = { version: SYNCTHING_VERSION, platforms: { [platform]: { file, sha256: sha256File(bin), size: fs.statSync(bin).size } } };
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function hasGo(): boolean {
  return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args[0] === '--all') for (const p of PLATFORMS) console.log(buildSyncthing({ platform: p }));
  else if (args[0] === '--package') {
    const dir = args[1] ? path.resolve(args[1]) : undefined;
    const m = packageSyncthing(dir);
    // stderr: npm pack --json prints its own JSON on stdout after this prepack step.
    process.stderr.write(`syncthing: ${m.version} for ${Object.keys(m.platforms).join(', ')}, compressed, in ${dir ?? 'dist/syncthing'}\n`);
  } else if (args[0] === '--checkout') {
    if (!hasGo()) {
      process.stderr.write(`syncthing: Go is not installed, so this checkout has no syncthing ${SYNCTHING_VERSION} of its own; kubectl-dev run from it uses syncthing from PATH (install Go, then npm run build:syncthing)\n`);
    } else {
      const m = checkoutSyncthing();
      process.stderr.write(`syncthing: ${SYNCTHING_VERSION} for ${hostPlatform()} in dist/syncthing (${Object.values(m.platforms).map((p) => p.file).join(', ')})\n`);
    }
  } else console.log(buildSyncthing());
}
