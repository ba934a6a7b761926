// Packs the single binaries for krew: one archive per platform, dist/kubectl-dev-<os>-<arch>.tar.gz
// (windows: .zip) holding the binary (kubectl-dev, kubectl-dev.exe), the completion script
// (not for windows: it is a shell script), LICENSE and README.md, and writes their real sha256
// and the version of package.json into krew-manifest.yaml, one krew platform each.
//
//   npm run package:krew      (builds the binaries first when one is missing)
//
// The archives are reproducible: fixed order, owner 0:0, mtime 0, gzip without a name or time
// (zip: DOS time 1980-01-01 00:00, deflated).
// The download address is $KUBECTL_DEV_RELEASE_URL (a directory URL) or a placeholder; a
// local install does not use it: kubectl krew install --manifest=krew-manifest.yaml --archive=…

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');

/** krew's os/arch of each platform (the binary's place under dist/ is scripts/build-binary.ts's TARGETS). */
export const KREW_PLATFORMS = [
  { platform: 'linux-x64', os: 'linux', arch: 'amd64', dir: 'linux-x64', exe: 'kubectl-dev' },
  { platform: 'linux-arm64', os: 'linux', arch: 'arm64', dir: 'linux-arm64', exe: 'kubectl-dev' },
  { platform: 'darwin-x64', os: 'darwin', arch: 'amd64', dir: 'darwin-x64', exe: 'kubectl-dev' },
  { platform: 'darwin-arm64', os: 'darwin', arch: 'arm64', dir: 'darwin-arm64', exe: 'kubectl-dev' },
  { platform: 'win32-x64', os: 'windows', arch: 'amd64', dir: 'windows-x64', exe: 'kubectl-dev.exe' },
] as const;

export function archiveName(os: string, arch: string): string {
  return `kubectl-dev-${os}-${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`;
}

/** The linux-amd64 archive (the one the README's local install names). */
export const ARCHIVE_NAME = archiveName('linux', 'amd64');
const DEFAULT_RELEASE_URL = 'https://example.invalid/kubectl-dev/releases/download';

interface Entry {
  name: string;
  data: Buffer;
  mode: number;
}

/** One ustar header block plus the data padded to 512 bytes. */
function tarEntry(entry: Entry): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name too long: ${entry.name}`);
  field(0, 100, entry.name);
  octal(100, 8, entry.mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, entry.data.length);
  octal(136, 12, 0); // mtime
  field(148, 8, '        '); // checksum placeholder: spaces
  field(156, 1, '0'); // regular file
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(265, 32, 'root');
  field(297, 32, 'root');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (entry.data.length % 512)) % 512);
  return Buffer.concat([header, entry.data, padding]);
}

export function tarGz(entries: readonly Entry[]): Buffer {
  return gzipSync(Buffer.concat([...entries.map(tarEntry), Buffer.alloc(1024)]), { level: 9 });
}

/** A zip archive (deflated entries, fixed DOS time, the Unix mode in the external attributes). */
export function zip(entries: readonly Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = deflateRawSync(entry.data, { level: 9 });
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((0o100000 | entry.mode) << 16) >>> 0, 38); // external attributes: regular file and its mode
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

export interface KrewPlatformInput {
  os: string;
  arch: string;
  sha256: string;
  uri: string;
  bin: string;
}

export interface KrewManifestInput {
  version: string;
  platforms: readonly KrewPlatformInput[];
}

export function krewManifest(input: KrewManifestInput): string {
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'dev' },
    spec: {
      version: `v${input.version}`,
      homepage: 'https://example.invalid/kubectl-dev',
      shortDescription: 'Run your code in a live workload, synced from your machine',
      description: [
        'kubectl dev puts a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod into dev mode:',
        'the chosen container keeps its pod but runs a dev image, and a syncthing sidecar receives',
        'your local source tree over a port-forward. `kubectl dev end` restores the workload exactly,',
        'from any machine, also after a crash. It also works as a Helm post-renderer and a kustomize',
        'KRM function (kubectl-dev render).',
        '',
      ].join('\n'),
      caveats: [
        'kubectl dev needs, on the cluster:',
        '  * RBAC in the namespace of the workload: get, list, patch on deployments, statefulsets,',
        '    daemonsets and cronjobs; create, delete on jobs, pods, secrets and configmaps;',
        '    create on pods/exec and pods/portforward; get, list, patch on horizontalpodautoscalers.',
        '  * Nodes that can pull the dev image and the syncthing sidecar image (Pod Security',
        '    "baseline" or looser in the namespace).',
        'On this machine nothing else: the binary carries the syncthing it syncs code with (the',
        'sidecar image\'s version); it is unpacked on first use into your cache directory.',
        '',
        'Check all of it with:  kubectl dev doctor',
        'Shell completion for `kubectl dev <TAB>`: put kubectl_complete-dev from the archive on PATH',
        '(e.g. ln -s ~/.krew/store/dev/v' + input.version + '/kubectl_complete-dev ~/.krew/bin/).',
        '',
      ].join('\n'),
      platforms: input.platforms.map((p) => ({ selector: { matchLabels: { os: p.os, arch: p.arch } }, uri: p.uri, sha256: p.sha256, bin: p.bin })),
    },
  };
  const header = [
    '# Written by `npm run package:krew` (scripts/package-krew.ts): each sha256 is that of',
    '# dist/kubectl-dev-<os>-<arch>.tar.gz (windows: .zip) built from this version. Install from a',
    `# local archive with`,
    `#   kubectl krew install --manifest=krew-manifest.yaml --archive=dist/${ARCHIVE_NAME}`,
  ].join('\n');
  return `${header}\n${stringify(manifest, { lineWidth: 0 })}`;
}

export interface PackageOptions {
  /** Where the binaries (bin/<os>-<arch>/), kubectl_complete-dev and the archives are (default dist/). */
  distDir?: string;
  /** The manifest to write (default krew-manifest.yaml at the top of the repository). */
  manifestPath?: string;
  /** The platforms to pack (default: all five). */
  platforms?: readonly string[];
}

export interface PackedArchive {
  platform: string;
  os: string;
  arch: string;
  archive: string;
  sha256: string;
}

export async function packageKrew(options: PackageOptions = {}): Promise<{ archives: PackedArchive[]; manifest: string }> {
  const dist = options.distDir ?? join(ROOT, 'dist');
  const targets = KREW_PLATFORMS.filter((t) => !options.platforms || options.platforms.includes(t.platform));
  const missing = targets.filter((t) => !existsSync(join(dist, 'bin', t.dir, t.exe)));
  if (missing.length > 0) {
    const { buildBinaries } = await import('./build-binary.ts');
    await buildBinaries(missing.map((t) => t.platform), dist);
  }
  const complete = join(dist, 'kubectl_complete-dev');
  const license = join(ROOT, 'LICENSE');
  if (!existsSync(license)) throw new Error('LICENSE is missing at the top of the repository; krew archives carry the license');
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const base = (process.env.KUBECTL_DEV_RELEASE_URL ?? `${DEFAULT_RELEASE_URL}/v${version}`).replace(/\/+$/, '');
  const archives: PackedArchive[] = [];
  for (const t of targets) {
    const entries: Entry[] = [
      { name: t.exe, data: readFileSync(join(dist, 'bin', t.dir, t.exe)), mode: 0o755 },
      ...(t.os === 'windows' ? [] : [{ name: 'kubectl_complete-dev', data: readFileSync(complete), mode: 0o755 }]),
      { name: 'LICENSE', data: readFileSync(license), mode: 0o644 },
      { name: 'README.md', data: readFileSync(join(ROOT, 'README.md')), mode: 0o644 },
    ];
    const archive = join(dist, archiveName(t.os, t.arch));
    const data = t.os === 'windows' ? zip(entries) : tarGz(entries);
    writeFileSync(archive, data);
    const sha256 = createHash('sha256').update(data).digest('hex');
    archives.push({ platform: t.platform, os: t.os, arch: t.arch, archive, sha256 });
    process.stderr.write(`package:krew: ${archive} (${(statSync(archive).size / 1e6).toFixed(1)} MB), sha256 ${sha256}\n`);
  }
  const manifest = options.manifestPath ?? join(ROOT, 'krew-manifest.yaml');
  writeFileSync(manifest, krewManifest({
    version,
    platforms: archives.map((a) => ({ os: a.os, arch: a.arch, sha256: a.sha256, uri: `${base}/${archiveName(a.os, a.arch)}`, bin: KREW_PLATFORMS.find((t) => t.platform === a.platform)!.exe })),
  }));
  process.stderr.write(`package:krew: ${manifest} updated (${archives.length} platforms)\n`);
  return { archives, manifest };
}

if (import.meta.main) await packageKrew();
