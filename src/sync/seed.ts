// The initial copy: when the sidecar's folder is empty (a new dev pod), the local
// tree goes into the container as one tar stream — `dd … count=LENGTH | tar -x` run
// by exec in the sync sidecar (the syncthing image has busybox), fed by a tar written here —
// instead of syncthing pulling it file by file (measured: syncthing's receiver
// spends ~1.3 ms of CPU per small file; tar a few µs). The sidecar then scans what
// arrived, and when the two syncthings connect every file is already equal:
// syncthing only records it (its "shortcut" for files whose blocks match), so
// syncthing stays the one source of truth and anything the copy missed or got
// wrong is synced the normal way.
//
// What goes into the stream is deliberately conservative: regular files and
// directories that the ignore patterns certainly do not exclude, nothing of
// syncthing's own (.stignore, .stfolder, temp files), no symlinks or special files,
// no path too long for a plain ustar header, no file of 8 GiB or more. Everything
// else is left to syncthing. The copy never reads outside the tree (issue 17, point 4): see
// "Reading the tree" below. Modes are 0666/0777 and tar runs under umask 0, as the
// sidecar's syncthing writes with ignorePerms (docs/decisions.md: the tree must be
// writable by the dev container's user); ownership is the sidecar user's (`tar -o`).

import { closeSync, constants, existsSync, fstatSync, openSync, readSync, readdirSync, lstatSync, type BigIntStats, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Exec, type KubeConfig } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { closeWebSocket, unmaskedOverTls, type ClosableWebSocket } from '../kube/websocket.ts';
import type WebSocket from 'ws';

/**
 * An entry of the copy: a directory or a regular file, by its "/"-separated
 * relative path (from the directory listing; planCopy adds size and mtime).
 */
export interface SeedEntry {
  rel: string;
  type: 'dir' | 'file';
  /** Its lstat when it was listed (through its directory's descriptor where the platform allows). */
  stat?: EntryStat;
}

/** What the copy keeps of an lstat: identity (device and inode), size and mtime. */
export interface EntryStat {
  dev: bigint;
  ino: bigint;
  size: number;
  mtimeMs: number;
}

/** An entry with the size and mtime its tar header gets, and the identity it must still have when it is read. */
export interface PlannedEntry extends SeedEntry {
  size: number;
  mtimeMs: number;
  dev: bigint;
  ino: bigint;
}

/** What the copy sends: the entries as stat'ed, and the exact length of the tar stream. */
export interface CopyPlan {
  entries: PlannedEntry[];
  /** Bytes of the tar stream, end-of-archive and record padding included. */
  length: number;
  files: number;
  bytes: number;
  /** The root directory's identity when it was listed: the copy reads the same directory. */
  root?: { dev: bigint; ino: bigint };
}

/** Names syncthing keeps to itself in any directory: never copied. */
export function isSyncthingInternal(name: string): boolean {
  return name === '.stignore' || name === '.stfolder' || name === '.stversions' ||
    (name.startsWith('.syncthing.') && name.endsWith('.tmp')) || (name.startsWith('~syncthing~') && name.endsWith('.tmp'));
}

const USTAR_NAME = 100;
const USTAR_PREFIX = 155;
const MAX_SIZE = 8 * 1024 ** 3 - 1; // 11 octal digits

/** Splits a path into ustar's prefix and name fields; undefined when it does not fit. */
export function ustarName(path: string): { name: Buffer; prefix: Buffer } | undefined {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length <= USTAR_NAME) return { name: bytes, prefix: Buffer.alloc(0) };
  // Split at a "/" so that the prefix fits 155 bytes and the rest 100.
  for (let i = Math.min(bytes.length - 1, USTAR_PREFIX); i > 0; i--) {
    if (bytes[i] === 0x2f && bytes.length - i - 1 <= USTAR_NAME && bytes.length - i - 1 > 0) {
      return { prefix: bytes.subarray(0, i), name: bytes.subarray(i + 1) };
    }
  }
  return undefined;
}

/** Modes in the headers: what syncthing creates with ignorePerms (0666, 0777), which the tar in the container keeps under umask 0. */
export const SEED_FILE_MODE = 0o666;
export const SEED_DIR_MODE = 0o777;

/** The fields every header shares: magic, version, uid, gid and the checksum placeholder. */
const HEADER_TEMPLATE = (() => {
  const h = Buffer.alloc(512);
  h.write('0000000\0', 108, 'ascii'); // uid
  h.write('0000000\0', 116, 'ascii'); // gid
  h.write('        ', 148, 'ascii'); // checksum placeholder
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  return h;
})();

/** `value` as width-1 zero-padded octal digits and a NUL, at `offset`. */
function putOctal(h: Buffer, value: number, offset: number, width: number): void {
  let rest = Math.floor(value);
  h[offset + width - 1] = 0;
  for (let i = offset + width - 2; i >= offset; i--) {
    h[i] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
}

/**
 * One 512-byte ustar header. Written byte by byte from a template: one is written per
 * entry while the copy runs (formatting through strings cost ~25 µs a header, 0.15 s
 * of CPU for 5,000 files).
 */
export function tarHeader(entry: PlannedEntry): Buffer {
  const split = ustarName(entry.type === 'dir' ? `${entry.rel}/` : entry.rel);
  if (!split) throw new Error(`path too long for a ustar header: ${entry.rel}`);
  const h = Buffer.allocUnsafe(512);
  HEADER_TEMPLATE.copy(h);
  split.name.copy(h, 0);
  putOctal(h, entry.type === 'dir' ? SEED_DIR_MODE : SEED_FILE_MODE, 100, 8);
  putOctal(h, entry.type === 'dir' ? 0 : entry.size, 124, 12);
  putOctal(h, Math.max(0, entry.mtimeMs / 1000), 136, 12);
  h[156] = entry.type === 'dir' ? 0x35 : 0x30; // '5' directory, '0' file
  split.prefix.copy(h, 345);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  putOctal(h, sum, 148, 7); // six digits and a NUL; the space after them stays
  return h;
}

// Reading the tree. A file or a directory of the tree may be replaced by a symbolic link (or a
// special file) at any moment while the copy lists or reads it — by a build, a checkout, or
// anything else that runs in the folder — and nothing outside the tree may go into the
// container that way. So:
//  - nothing is followed: every entry is lstat'ed, every open has O_NOFOLLOW, files are opened
//    O_NONBLOCK (a FIFO swapped in does not block the copy);
//  - an entry is read only while it is the one that was listed: the descriptor's fstat must
//    show the device and inode the listing saw (and a regular file or a directory); anything
//    else goes in as zeros of its planned size and is removed from the container after the copy
//    (SeedProgress.changed), for syncthing, which follows no link either, to sort out;
//  - directories get the same: on Linux every directory is opened (O_DIRECTORY | O_NOFOLLOW)
//    relative to its parent's descriptor and checked, and everything under it is listed,
//    lstat'ed and opened through that descriptor (/proc/self/fd/N/NAME: Node has no openat), so
//    a directory swapped for a link anywhere above an entry cannot redirect it. Elsewhere
//    (macOS, Windows) paths are used, with every directory's identity checked before and after
//    it is listed and every ancestor's after a file is opened.

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** How the tree is read: through directory descriptors (Linux), or by paths with checks (elsewhere; tests can force it). */
export const treeReading = { anchored: process.platform === 'linux' && existsSync('/proc/self/fd') };

/** An open directory of the tree. */
interface DirHandle {
  /** The prefix its entries are reached by: /proc/self/fd/N (anchored) or its path. */
  base: string;
  fd: number | undefined;
  dev: bigint;
  ino: bigint;
  /** Its path (for the checks of the path mode). */
  path: string;
}

function entryStat(st: BigIntStats): EntryStat {
  return { dev: st.dev, ino: st.ino, size: Number(st.size), mtimeMs: Number(st.mtimeNs) / 1e6 };
}

const sameIdentity = (a: { dev: bigint; ino: bigint }, b: { dev: bigint; ino: bigint }) => a.dev === b.dev && a.ino === b.ino;

/** The tree's root (a link given as the root itself is followed: it is what the user named). */
function openRoot(root: string, expect?: { dev: bigint; ino: bigint }): DirHandle | undefined {
  if (!treeReading.anchored) {
    try {
      const st = lstatSync(root, { bigint: true });
      const real = st.isSymbolicLink() ? fstatOfPath(root) : st;
      if (!real || (expect && !sameIdentity(real, expect))) return undefined;
      return { base: root, fd: undefined, dev: real.dev, ino: real.ino, path: root };
    } catch {
      return undefined;
    }
  }
  let fd: number | undefined;
  try {
    fd = openSync(root, constants.O_RDONLY | O_DIRECTORY);
    const st = fstatSync(fd, { bigint: true });
    if (!st.isDirectory() || (expect && !sameIdentity(st, expect))) throw new Error('not the listed root');
    return { base: `/proc/self/fd/${fd}`, fd, dev: st.dev, ino: st.ino, path: root };
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }
}

function fstatOfPath(path: string): BigIntStats | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | O_DIRECTORY);
    return fstatSync(fd, { bigint: true });
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Opens the directory `name` of `parent` without following a link; undefined unless it is a directory with the identity `expect`. */
function openDir(parent: DirHandle, name: string, expect: { dev: bigint; ino: bigint }): DirHandle | undefined {
  const path = join(parent.path, name);
  if (!treeReading.anchored) {
    try {
      const st = lstatSync(path, { bigint: true });
      if (!st.isDirectory() || !sameIdentity(st, expect)) return undefined;
      return { base: path, fd: undefined, dev: st.dev, ino: st.ino, path };
    } catch {
      return undefined;
    }
  }
  let fd: number | undefined;
  try {
    fd = openSync(`${parent.base}/${name}`, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    const st = fstatSync(fd, { bigint: true });
    if (!st.isDirectory() || !sameIdentity(st, expect)) throw new Error('not the listed directory');
    return { base: `/proc/self/fd/${fd}`, fd, dev: st.dev, ino: st.ino, path };
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }
}

function closeDir(dir: DirHandle | undefined): void {
  if (dir?.fd !== undefined) {
    try {
      closeSync(dir.fd);
    } catch {
      /* closed */
    }
    dir.fd = undefined;
  }
}

/** Path mode: the directory at `dir.path` is still the one opened (not replaced by a link or another directory). */
function stillThere(dir: DirHandle): boolean {
  if (treeReading.anchored) return true;
  try {
    const st = lstatSync(dir.path, { bigint: true });
    return st.isDirectory() && sameIdentity(st, dir);
  } catch {
    return false;
  }
}

/**
 * The entries to copy under `root`, directories before their contents, each with its lstat.
 * Ignored directories are not entered; unreadable ones are skipped (syncthing reports them).
 */
export function seedEntries(root: string, isIgnored: (rel: string) => boolean): SeedEntry[] {
  return [...walkTree(root, isIgnored)];
}

function* walkTree(root: string, isIgnored: (rel: string) => boolean, rootOut?: { dev: bigint; ino: bigint }): Generator<SeedEntry> {
  const top = openRoot(root);
  if (!top) return;
  if (rootOut) {
    rootOut.dev = top.dev;
    rootOut.ino = top.ino;
  }
  try {
    yield* walkEntries(top, isIgnored, '');
  } finally {
    closeDir(top);
  }
}

function* walkEntries(dir: DirHandle, isIgnored: (rel: string) => boolean, relDir: string): Generator<SeedEntry> {
  let dirents: Dirent[];
  try {
    dirents = readdirSync(dir.base, { withFileTypes: true });
  } catch {
    return;
  }
  // Path mode: a directory replaced while it was listed may have been listed elsewhere.
  if (!stillThere(dir)) return;
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of dirents) {
    const raw = dirent.name;
    if (isSyncthingInternal(raw)) continue;
    // syncthing normalises names to NFC (autoNormalize); a name that is not NFC is left to it.
    if (raw.normalize('NFC') !== raw) continue;
    const rel = relDir ? `${relDir}/${raw}` : raw;
    if (isIgnored(rel)) continue;
    if (dirent.isSymbolicLink()) continue;
    let st: BigIntStats;
    try {
      st = lstatSync(`${dir.base}/${raw}`, { bigint: true });
    } catch {
      continue;
    }
    const isDir = st.isDirectory();
    if (!isDir && !st.isFile()) continue;
    if (!isDir && st.size > MAX_SIZE) continue;
    if (!ustarName(isDir ? `${rel}/` : rel)) continue;
    if (!stillThere(dir)) return;
    const stat = entryStat(st);
    if (!isDir) {
      yield { rel, type: 'file', stat };
      continue;
    }
    const sub = openDir(dir, raw, stat);
    if (!sub) continue;
    try {
      yield { rel, type: 'dir', stat };
      yield* walkEntries(sub, isIgnored, rel);
    } finally {
      closeDir(sub);
    }
  }
}

/** Where the copy stands; `current` is the file being written when it stopped. */
export interface SeedProgress {
  files: number;
  bytes: number;
  current?: string;
  /**
   * Files that changed (size or mtime) or went away between planCopy and the moment
   * they were read: the stream keeps their planned size, so their copy in the
   * container may be wrong and is removed again (syncthing then sends them).
   */
  changed: string[];
}

/** Size and mtime of every entry, and the length of the stream they make. Files that are gone or no longer regular are left out. */
export function planCopy(root: string, entries: readonly SeedEntry[]): CopyPlan {
  const plan = new PlanBuilder(root);
  const top = openRoot(root);
  if (top) plan.root = { dev: top.dev, ino: top.ino };
  closeDir(top);
  for (const entry of entries) plan.add(entry);
  return plan.done();
}

/**
 * seedEntries and planCopy in one pass, with a break for other work every few
 * milliseconds: it runs while the sidecar is asked whether its folder is empty and
 * while the copy's exec opens, both of which need this process's event loop.
 */
export async function listAndPlan(root: string, isIgnored: (rel: string) => boolean, signal?: AbortSignal): Promise<CopyPlan> {
  const plan = new PlanBuilder(root);
  const rootId = { dev: 0n, ino: 0n };
  plan.root = rootId;
  let since = performance.now();
  for (const entry of walkTree(root, isIgnored, rootId)) {
    plan.add(entry);
    if (performance.now() - since > LISTING_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      since = performance.now();
    }
  }
  return plan.done();
}

/** How long listAndPlan works before it lets other work in. */
const LISTING_SLICE_MS = 4;

class PlanBuilder {
  private readonly entries: PlannedEntry[] = [];
  private length = 0;
  private files = 0;
  private bytes = 0;
  private readonly dir: string;
  root?: { dev: bigint; ino: bigint };
  constructor(root: string) {
    this.dir = root;
  }

  add(entry: SeedEntry): void {
    let stat = entry.stat;
    if (!stat) {
      try {
        const st = lstatSync(join(this.dir, entry.rel), { bigint: true });
        if (entry.type === 'dir' ? !st.isDirectory() : !st.isFile()) return;
        stat = entryStat(st);
      } catch {
        return; // gone meanwhile: syncthing sorts it out
      }
    }
    if (entry.type === 'file' && stat.size > MAX_SIZE) return;
    const size = entry.type === 'dir' ? 0 : stat.size;
    this.entries.push({ rel: entry.rel, type: entry.type, size, mtimeMs: stat.mtimeMs, dev: stat.dev, ino: stat.ino });
    this.length += 512 + size + padding(size);
    if (entry.type === 'file') {
      this.files++;
      this.bytes += size;
    }
  }

  done(): CopyPlan {
    return { entries: this.entries, length: this.length + endOfArchive(this.length), files: this.files, bytes: this.bytes, ...(this.root ? { root: this.root } : {}) };
  }
}

/** Zeros after `size` bytes of content, up to the next 512-byte block. */
function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** The end of the archive after `length` bytes: two zero blocks, then up to a full record (tar reads no further). */
function endOfArchive(length: number): number {
  return 1024 + ((RECORD - ((length + 1024) % RECORD)) % RECORD);
}

const CHUNK = 1024 * 1024;
/** A record of GNU tar's default blocking factor: the archive ends on a record boundary. */
const RECORD = 10240;

/**
 * Writes the tar stream of `plan` through `write`, in chunks of up to 1 MB that all
 * live in one reused buffer: a chunk is valid only until the promise `write` returns
 * settles (the exec stream copies it at once), which keeps a transfer of any size at
 * a few allocations. `headroom` bytes in front of each chunk are the caller's (the
 * exec channel byte). Every entry gets exactly its planned size, so the stream is
 * exactly `plan.length` bytes long: a file that shrank or went away is padded with
 * zeros, one that grew is cut, and both are listed in `progress.changed`.
 */
export async function writeTar(root: string, plan: CopyPlan, write: (chunk: Buffer) => Promise<void>, progress: SeedProgress,
  headroom = 0): Promise<void> {
  const buffer = Buffer.alloc(headroom + CHUNK);
  let used = 0; // bytes of tar data in buffer after the headroom
  let total = 0;
  const flush = async () => {
    if (used === 0) return;
    const chunk = buffer.subarray(0, headroom + used);
    used = 0;
    await write(chunk);
  };
  /** Room for at least `n` bytes (n ≤ CHUNK), flushing first when needed; returns the offset to write at. */
  const room = async (n: number) => {
    if (used + n > CHUNK) await flush();
    return headroom + used;
  };
  const put = async (data: Buffer) => {
    const at = await room(data.length);
    data.copy(buffer, at);
    used += data.length;
    total += data.length;
  };
  const zeros = async (n: number) => {
    while (n > 0) {
      const step = Math.min(n, 512);
      const at = await room(step);
      buffer.fill(0, at, at + step);
      used += step;
      total += step;
      n -= step;
    }
  };
  // The directories from the root down to the current entry's parent (entries come in walk
  // order), each opened and checked as it was listed; undefined: it was not (its entries are zeros).
  const top = openRoot(root, plan.root);
  if (!top) throw new Error(`${root} is not the directory that was listed`);
  const open: Array<{ rel: string; dir: DirHandle | undefined }> = [{ rel: '', dir: top }];
  const parentOf = (rel: string) => {
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? '' : rel.slice(0, cut);
    while (open.length > 1 && open.at(-1)!.rel !== parent) closeDir(open.pop()!.dir);
    return open.at(-1)!.rel === parent ? open.at(-1)!.dir : undefined;
  };
  /** Path mode: every directory from the root down is still the one opened. */
  const ancestorsStillThere = () => treeReading.anchored || open.every((o) => o.dir !== undefined && stillThere(o.dir));
  try {
  for (const entry of plan.entries) {
    await put(tarHeader(entry));
    const parent = parentOf(entry.rel);
    const name = entry.rel.slice(entry.rel.lastIndexOf('/') + 1);
    if (entry.type === 'dir') {
      const dir = parent ? openDir(parent, name, entry) : undefined;
      // Replaced meanwhile: what tar made of it is removed again after the copy.
      if (!dir) progress.changed.push(entry.rel);
      open.push({ rel: entry.rel, dir });
      continue;
    }
    const { size } = entry;
    progress.current = entry.rel;
    let fd: number | undefined;
    try {
      if (!parent) throw new Error('its directory was replaced');
      fd = openSync(`${parent.base}/${name}`, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      const st = fstatSync(fd, { bigint: true });
      // Another file than the one listed (a link's target cannot get here: O_NOFOLLOW), or not a regular file.
      if (!st.isFile() || !sameIdentity(st, entry) || !ancestorsStillThere()) throw new Error('not the listed file');
      const now = entryStat(st);
      if (now.size !== size || now.mtimeMs !== entry.mtimeMs) progress.changed.push(entry.rel);
    } catch {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      progress.changed.push(entry.rel);
    }
    try {
      for (let done = 0; done < size;) {
        if (used === CHUNK) await flush();
        const want = Math.min(CHUNK - used, size - done);
        const at = headroom + used;
        let got = 0;
        // EOF or a read error before `size`: the rest stays zero.
        while (fd !== undefined && got < want) {
          let n = 0;
          try {
            n = readSync(fd, buffer, at + got, want - got, done + got);
          } catch {
            /* zeros */
          }
          if (n <= 0) break;
          got += n;
        }
        if (got < want) buffer.fill(0, at + got, at + want);
        used += want;
        total += want;
        done += want;
      }
      await zeros(padding(size));
      progress.files++;
      progress.bytes += size;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  } finally {
    for (const o of open) closeDir(o.dir);
  }
  progress.current = undefined;
  await zeros(endOfArchive(total));
  await flush();
  // The container's dd stops at plan.length: a stream of another length would cut the archive or hang tar.
  if (total !== plan.length) throw new Error(`internal error: the tar stream is ${total} bytes, planned ${plan.length}`);
}

/** The bits of the exec WebSocket used here (ws 8). */
export interface ExecSocket extends ClosableWebSocket {
  readonly bufferedAmount: number;
  readonly protocol?: string;
  /**
   * Sends one binary message. ws may keep `data` (unmasked frames are not copied)
   * until `done` is called: the buffer must not change before then.
   */
  send(data: Buffer, done: (error?: Error) => void): void;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface ExecStatus {
  status?: string;
  message?: string;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

/** client-node's Exec, reduced to what the copy needs. */
export type ExecFn = (namespace: string, pod: string, container: string, command: string[],
  stdout: Writable, stderr: Writable, stdin: PassThrough, onStatus: (status: ExecStatus) => void) => Promise<unknown>;

/**
 * The copy's exec WebSocket: unmasked over TLS, and without v5.channel.k8s.io on
 * offer. The API server translates a v5 exec into SPDY towards the kubelet, decoding
 * and re-framing every byte; a v4 one it proxies as it is, and the kubelet's own
 * WebSocket server reads it. Measured here (bench/copy.ts, 115 MB into KWOK): API
 * server 1.25 → 0.45 CPU-s, the transfer 1.4–1.6 s → 1.0–1.2 s.
 */
function seedExecSocket(uri: string, protocols: string[], opts: WebSocket.ClientOptions): WebSocket {
  return unmaskedOverTls(uri, protocols.filter((p) => p !== V5), opts);
}

export function clientNodeExec(kc: KubeConfig): ExecFn {
  // The default handler ends process.stdout/stderr when the server closes a stream: give it its own.
  const sink = () => new PassThrough().resume();
  const handler = new WebSocketHandler(kc, seedExecSocket, { stdin: new PassThrough(), stdout: sink(), stderr: sink() });
  const exec = new Exec(kc, handler);
  return (namespace, pod, container, command, stdout, stderr, stdin, onStatus) =>
    exec.exec(namespace, pod, container, command, stdout, stderr, stdin, false, onStatus as never);
}

export interface SeedOptions {
  exec: ExecFn;
  namespace: string;
  pod: string;
  container: string;
  /** The work dir in the container. */
  workdir: string;
  root: string;
  /**
   * What to send. A promise lets the exec open while the tree is still being listed
   * (listAndPlan); the container waits for the stream's length, its first line.
   */
  plan: CopyPlan | Promise<CopyPlan>;
  /** No progress for this long fails the copy. */
  stallMs?: number;
  debug?: (message: string) => void;
  signal?: AbortSignal;
}

/** A copy that did not complete; `current` is the file that may be half written. */
export class SeedError extends Error {
  readonly progress: SeedProgress;
  constructor(message: string, progress: SeedProgress) {
    super(message);
    this.progress = progress;
  }
}

/**
 * Chunks on their way at once (2 × 1 MB): each waits in a slot of this ring until
 * ws has written it. Measured with bench/copy.ts (115 MB): 1 MB frames cost the API
 * server and KWOK ~15 % less CPU than 64 KB ones.
 */
const IN_FLIGHT = 2;

/**
 * The copy's command ends with a line on stderr that gives its exit status. On a real node
 * (kubelet 1.36, containerd 2.3) an exec whose process exits while stdin still has bytes on
 * their way — tar failing half way — sends no status, and the exec stays open, as long as
 * stdin does (which v4 cannot close): seen in about half of the tries. Without this line a
 * failed copy was noticed only by the stall watchdog, 15 to 60 s later.
 */
const EXIT_PREFIX = 'kubectl-dev-copy-exit: ';
const EXIT_LINE = new RegExp(`(?:^|\\n)${EXIT_PREFIX}(\\d+)\\n$`);
const EXIT_LINE_ANYWHERE = new RegExp(`(?:^|\\n)${EXIT_PREFIX}\\d+\\n`, 'g');
const V4 = 'v4.channel.k8s.io';
const V5 = 'v5.channel.k8s.io';
const STDIN = 0;
const CLOSE_STREAM = 255;

function exitMessage(status: ExecStatus): string {
  const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  return code !== undefined ? `exit code ${code}` : status.message ?? status.status ?? 'failed';
}

/** Streams `entries` into `tar -x` in the container; resolves with what was copied. */
export async function seedContainer(options: SeedOptions): Promise<SeedProgress> {
  const progress: SeedProgress = { files: 0, bytes: 0, changed: [] };
  const stdin = new PassThrough();
  let errText = '';
  let errTail = '';
  let status: ExecStatus | undefined;
  let statusArrived!: () => void;
  const statusPromise = new Promise<void>((resolve) => (statusArrived = resolve));
  const stderr = new Writable({
    write: (chunk: Buffer, _e, cb) => {
      const text = chunk.toString('utf8');
      if (errText.length < 2000) errText += text;
      // The command's own last line: its exit status, which the exec's status may never bring (see EXIT_LINE).
      errTail = (errTail + text).slice(-200);
      const exit = EXIT_LINE.exec(errTail);
      if (exit && !status) {
        status = exit[1] === '0' ? { status: 'Success' } : { status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: exit[1] }] } };
        statusArrived();
      }
      cb();
    },
  });
  /** What tar said on stderr, without the exit line. */
  const tarSaid = () => errText.replace(EXIT_LINE_ANYWHERE, '').trim();
  const stdout = new Writable({ write: (_c, _e, cb) => cb() });
  let failed: ((why: string) => void) | undefined;
  const failure = new Promise<string>((resolve) => (failed = resolve));
  const fail = (why: string): never => {
    throw new SeedError(why, progress);
  };
  // tar gets the end of its input from dd, which stops after the stream's length (the
  // first line of stdin; the shell's read takes no byte past the newline): busybox
  // tar reads to the end of its input after the end-of-archive blocks, and over v4
  // (see seedExecSocket) the end of stdin cannot be sent on its own. dd, not head:
  // busybox head -c takes ~1 CPU-s per 115 MB, busybox dd 0.15 s. Should read or dd
  // fail, tar fails too or does not run, and so does the copy. The umask: an exec gets
  // the runtime's (0022), not the sidecar's, and a non-root tar applies it to the modes.
  // The last line on stderr is the exit status (EXIT_LINE).
  const command = ['sh', '-c', `umask 0000 && read -r n && dd bs=1048576 iflag=fullblock,count_bytes count="$n" | tar -x -o -f - -C "$1"; s=$?; echo "${EXIT_PREFIX}$s" >&2; exit $s`, 'sh', options.workdir];
  let ws: ExecSocket;
  try {
    ws = (await options.exec(options.namespace, options.pod, options.container, command, stdout, stderr, stdin, (s) => {
      status = s;
      statusArrived();
    })) as ExecSocket;
  } catch (error) {
    const e = error as { message?: string; code?: number };
    return fail(`exec in ${options.pod}/${options.container}: ${e.message ?? String(error)}`);
  }
  options.debug?.(`initial copy: exec in ${options.pod}/${options.container} connected (${ws.protocol})`);
  // Before v4 the status channel carries no exit status: a failed tar would look like success.
  if (ws.protocol !== V4 && ws.protocol !== V5) {
    closeWebSocket(ws);
    return fail(`exec in ${options.pod}: the API server does not speak ${V4}`);
  }
  ws.on('close', () => failed?.(`the exec stream closed${tarSaid() ? `: ${tarSaid().split('\n').pop()}` : ''}`));
  ws.on('error', (error) => failed?.(`exec stream: ${error.message}`));
  options.signal?.addEventListener('abort', () => failed?.('stopped'), { once: true });
  let lastProgress = Date.now();
  let stallMs = options.stallMs ?? 15_000;
  let why: string | undefined;
  void failure.then((w) => (why ??= w));
  // Not while the tree is still being listed: a big tree takes its time, and nothing is stuck.
  let planned = false;
  const watchdog = setInterval(() => {
    if (planned && Date.now() - lastProgress > stallMs) failed?.(`no progress for ${Math.round(stallMs / 1000)} s`);
  }, 1000);
  watchdog.unref();
  const free: Buffer[] = Array.from({ length: IN_FLIGHT }, () => Buffer.allocUnsafe(CHUNK + 1));
  let slotFreed: (() => void) | undefined;
  try {
    const plan = await Promise.race([options.plan, failure.then((w) => fail(w))]);
    planned = true;
    lastProgress = Date.now();
    // Frames go out directly (channel byte 0 = stdin, then data) rather than through
    // client-node's stdin stream, which copies every chunk once more.
    ws.send(Buffer.from(`\0${plan.length}\n`, 'latin1'), () => {});
    await writeTar(options.root, plan, async (chunk) => {
      // tar's own exit status says more than the stream closing after it.
      if (status) fail(`tar ended early (${exitMessage(status)})${tarSaid() ? `: ${tarSaid().split('\n').pop()}` : ''}`);
      if (why !== undefined) fail(why);
      while (free.length === 0 && why === undefined && !status) {
        // Waiting for the socket also lets I/O events in (the stream closing, tar's exit status).
        await Promise.race([new Promise<void>((r) => (slotFreed = r)), failure, statusPromise]);
      }
      if (status || why !== undefined) return;
      const slot = free.pop()!;
      chunk.copy(slot);
      slot[0] = STDIN;
      ws.send(slot.subarray(0, chunk.length), () => {
        free.push(slot);
        lastProgress = Date.now();
        slotFreed?.();
      });
    }, progress, 1);
    // v5 can say "end of stdin" (dd has stopped reading anyway); v4 cannot.
    if (ws.protocol === V5) ws.send(Buffer.from([CLOSE_STREAM, STDIN]), () => {});
    // What is still buffered on the way may take tar a while to write out on a slow disk.
    lastProgress = Date.now();
    stallMs = Math.max(stallMs, 60_000);
    await Promise.race([statusPromise, failure]);
    if (!status) fail(why ?? 'no exit status');
    if (status!.status !== 'Success') fail(`tar in the container failed (${exitMessage(status!)})${tarSaid() ? `: ${tarSaid().split('\n').slice(-2).join(' | ')}` : ''}`);
    progress.current = undefined;
    return progress;
  } finally {
    clearInterval(watchdog);
    failed = undefined;
    closeWebSocket(ws);
  }
}

/**
 * Undoes a copy that did not complete (best effort): removes the top-level
 * entries it sent. The copy only runs into a folder syncthing knows to be empty,
 * so these are the copy's own; syncthing then copies everything the usual way,
 * and no half-written file is left to become a conflict.
 */
export async function removeInContainer(options: Pick<SeedOptions, 'exec' | 'namespace' | 'pod' | 'container' | 'workdir'>, rels: readonly string[], timeoutMs = 10_000): Promise<boolean> {
  if (rels.length === 0) return true;
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  const base = options.workdir.replace(/\/+$/, '');
  let ws: ExecSocket | undefined;
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (status?: ExecStatus) => {
      clearTimeout(timer);
      resolve(status?.status === 'Success');
    };
    const stdin = new PassThrough();
    options.exec(options.namespace, options.pod, options.container, ['rm', '-rf', '--', ...rels.map((r) => `${base}/${r}`)], sink(), sink(), stdin, done)
      .then((socket) => (ws = socket as ExecSocket), () => done());
  });
  closeWebSocket(ws);
  return ok;
}

/** The top-level names among `entries` (what removeInContainer needs to undo a copy). */
export function topLevel(entries: readonly SeedEntry[]): string[] {
  return entries.filter((e) => !e.rel.includes('/')).map((e) => e.rel);
}
