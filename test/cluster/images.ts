// Container images for the real node, built here from pinned sources (there is no
// registry): each is one uncompressed layer in an OCI image-layout archive that
// `ctr images import` takes under the image's usual name.
//
//   registry.k8s.io/pause:3.10           pause.c from the kubernetes module, gcc -static
//   docker.io/library/busybox:1.36       Debian's static busybox and its applets
//   docker.io/syncthing/syncthing:1.29.2 the sidecar image: syncthing built from its module
//                                        (test/tools/syncthing.ts), busybox's sh/cp/tar/dd,
//                                        user 1000, and the official image's environment
//   docker.io/library/node:24            the project's pinned Node 24 binary, its shared
//                                        libraries from this machine, busybox, user node (1000)
//   gcr.io/distroless/static-debian12:nonroot  no shell, no binaries: passwd, group, /tmp
//   kubectl-dev.test/syncthing:1.19.2    the sidecar layout with syncthing 1.19.2 built from its
//                                        module (a sidecar older than 1.28, for --sidecar-image)
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SIDECAR_IMAGE } from '../../src/core/settings.ts';
import { olderSyncthingBinary, sidecarSyncthingBinary } from '../tools/syncthing.ts';
import { KUBERNETES_VERSION, cacheDir, repoRoot } from './build.lib.ts';

export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const BUSYBOX_IMAGE = 'docker.io/library/busybox:1.36';
export const NODE_IMAGE = 'docker.io/library/node:24';
export const SYNCTHING_IMAGE = DEFAULT_SIDECAR_IMAGE;
export const DISTROLESS_IMAGE = 'gcr.io/distroless/static-debian12:nonroot';
export const OLD_SYNCTHING_IMAGE = 'kubectl-dev.test/syncthing:1.19.2';

/** A file placed in the image: copied from `from`, or written from `text`; or a symlink; or a directory. */
export type Entry =
  | { path: string; from: string; mode?: number }
  | { path: string; text: string; mode?: number }
  | { path: string; link: string }
  | { path: string; dir: true; mode?: number; uid?: number };

export interface ImageSpec {
  name: string;
  entries: () => Entry[];
  config: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[]; User?: string; WorkingDir?: string };
}

export class ImageBuildError extends Error {
  override name = 'ImageBuildError';
}

const BUSYBOX = '/usr/bin/busybox';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function busyboxEntries(): Entry[] {
  if (!fs.existsSync(BUSYBOX)) throw new ImageBuildError(`${BUSYBOX} is missing: apt-get install busybox-static`);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  return [
    { path: 'bin/busybox', from: BUSYBOX, mode: 0o755 },
    ...applets.map((a) => ({ path: `bin/${a}`, link: 'busybox' })),
    { path: 'tmp', dir: true, mode: 0o1777 },
    { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', text: 'root:x:0:\nnogroup:x:65534:\n' },
  ];
}

function pauseBinary(): string {
  const out = path.join(cacheDir(), 'images', 'build', 'pause');
  if (fs.existsSync(out)) return out;
  const modDir = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`], { cwd: path.join(repoRoot, 'test', 'cluster'), encoding: 'utf8' })).Dir as string;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync('gcc', ['-Os', '-static', '-DVERSION=v3.10-kubectl-dev-test', '-o', `${out}.tmp`, path.join(modDir, 'build', 'pause', 'linux', 'pause.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new ImageBuildError(`building pause with gcc -static failed: ${r.error?.message ?? r.stderr}`);
  fs.renameSync(`${out}.tmp`, out);
  return out;
}

/** The shared libraries a dynamically linked binary loads (from ldd), with their paths on this machine. */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

function nodeBinary(): string {
  const bin = fs.realpathSync(path.join(repoRoot, 'node_modules', 'node', 'bin', 'node'));
  if (!fs.existsSync(bin)) throw new ImageBuildError('node_modules/node/bin/node is missing: run npm ci');
  return bin;
}

/** The sidecar image's layout as the product relies on it: /bin/syncthing, a POSIX sh, cp, tar, dd; user 1000. */
function syncthingEntries(syncthing: string): Entry[] {
  return [
    ...busyboxEntries().filter((e) => !e.path.startsWith('etc/')),
    { path: 'bin/syncthing', from: syncthing, mode: 0o755 },
    { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/bin/sh\nsyncthing:x:1000:1000::/var/syncthing:/bin/sh\n' },
    { path: 'etc/group', text: 'root:x:0:\nsyncthing:x:1000:\n' },
    { path: 'var/syncthing', dir: true, mode: 0o755, uid: 1000 },
  ];
}

/** The official image's environment, which the product's sidecar must not depend on or be moved by. */
const SYNCTHING_CONFIG: ImageSpec['config'] = {
  Env: [PATH_ENV, 'PUID=1000', 'PGID=1000', 'HOME=/var/syncthing', 'STGUIADDRESS=0.0.0.0:8384', 'STHOMEDIR=/var/syncthing/config'],
  Entrypoint: ['/bin/syncthing'],
};

export const IMAGES: ImageSpec[] = [
  {
    name: PAUSE_IMAGE,
    entries: () => [{ path: 'pause', from: pauseBinary(), mode: 0o755 }],
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
  },
  {
    name: BUSYBOX_IMAGE,
    entries: busyboxEntries,
    config: { Env: [PATH_ENV], Cmd: ['sh'] },
  },
  {
    name: SYNCTHING_IMAGE,
    entries: () => syncthingEntries(sidecarSyncthingBinary()),
    config: SYNCTHING_CONFIG,
  },
  {
    name: OLD_SYNCTHING_IMAGE,
    entries: () => syncthingEntries(olderSyncthingBinary()),
    config: SYNCTHING_CONFIG,
  },
  {
    name: DISTROLESS_IMAGE,
    entries: () => [
      { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' },
      { path: 'etc/group', text: 'root:x:0:\nnonroot:x:65532:\n' },
      { path: 'tmp', dir: true, mode: 0o1777 },
      { path: 'home/nonroot', dir: true, mode: 0o700, uid: 65532 },
    ],
    config: { Env: [PATH_ENV], User: '65532:65532', WorkingDir: '/home/nonroot' },
  },
  {
    name: NODE_IMAGE,
    entries: () => {
      const bin = nodeBinary();
      return [
        ...busyboxEntries().filter((e) => !e.path.startsWith('etc/')),
        { path: 'usr/local/bin/node', from: bin, mode: 0o755 },
        ...sharedLibraries(bin).map((lib) => ({ path: lib.slice(1), from: fs.realpathSync(lib), mode: 0o755 })),
        { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' },
        { path: 'etc/group', text: 'root:x:0:\nnode:x:1000:\n' },
        { path: 'home/node', dir: true, mode: 0o755, uid: 1000 },
      ];
    },
    config: { Env: [PATH_ENV, 'NODE_VERSION=24'], Cmd: ['node'] },
  },
];

function fileName(image: string): string {
  return image.replace(/[^a-zA-Z0-9.-]+/g, '_') + '.tar';
}

/** A key for what goes into an image: entries (with each source file's size and mtime) and config. */
function specKey(spec: ImageSpec, entries: Entry[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ name: spec.name, config: spec.config }));
  for (const e of entries) {
    h.update(JSON.stringify(e));
    if ('from' in e) {
      const st = fs.statSync(e.from);
      h.update(`${st.size}:${st.mtimeMs}`);
    }
  }
  return h.digest('hex');
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Writes the layer tree into `root` and tars it (numeric owners, sorted, mtime 0). */
function buildLayer(entries: Entry[], root: string, layerTar: string): void {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  for (const e of entries) {
    const dest = path.join(root, e.path);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if ('dir' in e) {
      fs.mkdirSync(dest, { recursive: true });
      fs.chmodSync(dest, e.mode ?? 0o755);
      if (e.uid !== undefined) fs.chownSync(dest, e.uid, e.uid);
    } else if ('link' in e) {
      fs.rmSync(dest, { force: true });
      fs.symlinkSync(e.link, dest);
    } else if ('from' in e) {
      fs.copyFileSync(e.from, dest);
      fs.chmodSync(dest, e.mode ?? 0o644);
    } else {
      fs.writeFileSync(dest, e.text);
      fs.chmodSync(dest, e.mode ?? 0o644);
    }
  }
  execFileSync('tar', ['--numeric-owner', '--sort=name', '--mtime=@0', '-cf', layerTar, '-C', root, '.']);
}

function writeBlob(blobs: string, data: Buffer | string): { digest: string; size: number } {
  const buf = Buffer.from(data);
  const hex = createHash('sha256').update(buf).digest('hex');
  fs.writeFileSync(path.join(blobs, hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
}

/** Builds one image archive (OCI layout, one layer), or returns the cached one. */
export function buildImage(spec: ImageSpec, log: (l: string) => void = () => {}): string {
  const dir = path.join(cacheDir(), 'images');
  const out = path.join(dir, fileName(spec.name));
  const entries = spec.entries();
  const key = specKey(spec, entries);
  const stamp = `${out}.key`;
  if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === key) return out;
  log(`building image ${spec.name}`);
  const work = path.join(dir, 'build', `${fileName(spec.name)}.${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  const layout = path.join(work, 'layout');
  const blobs = path.join(layout, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  try {
    const layerTar = path.join(work, 'layer.tar');
    buildLayer(entries, path.join(work, 'root'), layerTar);
    const layerHex = sha256File(layerTar);
    const layerSize = fs.statSync(layerTar).size;
    fs.renameSync(layerTar, path.join(blobs, layerHex));
    const config = writeBlob(blobs, JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] },
    }));
    const manifest = writeBlob(blobs, JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: layerSize }],
    }));
    fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': spec.name.split(':').pop() },
      }],
    }));
    execFileSync('tar', ['--numeric-owner', '--sort=name', '-cf', `${out}.tmp`, '-C', layout, '.']);
    fs.renameSync(`${out}.tmp`, out);
    fs.writeFileSync(stamp, key);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return out;
}

/** Every image archive, built where needed: [image name, archive path]. */
export function buildImages(log?: (l: string) => void): Array<[string, string]> {
  return IMAGES.map((spec) => [spec.name, buildImage(spec, log)]);
}
