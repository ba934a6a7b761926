// Reading the tree for the initial copy without ever reading outside it (issue 17, point 4).
// A file or a directory of the tree may be replaced by a symbolic link (or a special file) at
// any moment while the copy lists or reads it — by a build, a checkout, or anything else that
// runs in the folder — and nothing outside the tree may go into the container that way. So:
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

import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

/** What the copy keeps of an lstat: identity (device and inode), size and mtime. */
export interface EntryStat {
  dev: bigint;
  ino: bigint;
  size: number;
  mtimeMs: number;
}

export interface Identity {
  dev: bigint;
  ino: bigint;
}

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** How the tree is read: through directory descriptors (Linux), or by paths with checks (elsewhere; tests can force it). */
export const treeReading = { anchored: process.platform === 'linux' && existsSync('/proc/self/fd') };

/** An open directory of the tree. */
export interface DirHandle {
  /** The prefix its entries are reached by: /proc/self/fd/N (anchored) or its path. */
  base: string;
  fd: number | undefined;
  dev: bigint;
  ino: bigint;
  /** Its path (for the checks of the path mode). */
  path: string;
}

export function entryStat(st: BigIntStats): EntryStat {
  return { dev: st.dev, ino: st.ino, size: Number(st.size), mtimeMs: Number(st.mtimeNs) / 1e6 };
}

export const sameIdentity = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;

/** The tree's root (a link given as the root itself is followed: it is what the user named). */
export function openRoot(root: string, expect?: Identity): DirHandle | undefined {
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
export function openDir(parent: DirHandle, name: string, expect: Identity): DirHandle | undefined {
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

export function closeDir(dir: DirHandle | undefined): void {
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
export function stillThere(dir: DirHandle): boolean {
  if (treeReading.anchored) return true;
  try {
    const st = lstatSync(dir.path, { bigint: true });
    return st.isDirectory() && sameIdentity(st, dir);
  } catch {
    return false;
  }
}

/**
 * Opens the file `name` of `parent` for reading when it is still the listed one (`expect`) and
 * `ancestorsOk()`; its descriptor and its stat now, or undefined (the caller sends zeros).
 */
export function openListedFile(parent: DirHandle | undefined, name: string, expect: Identity, ancestorsOk: () => boolean): { fd: number; stat: EntryStat } | undefined {
  let fd: number | undefined;
  try {
    if (!parent) throw new Error('its directory was replaced');
    fd = openSync(`${parent.base}/${name}`, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const st = fstatSync(fd, { bigint: true });
    // Another file than the one listed (a link's target cannot get here: O_NOFOLLOW), or not a regular file.
    if (!st.isFile() || !sameIdentity(st, expect) || !ancestorsOk()) throw new Error('not the listed file');
    return { fd, stat: entryStat(st) };
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }
}

/**
 * The directories from the root down to the current entry's parent (entries come in walk
 * order), each opened and checked as it was listed; undefined: it was not (its entries are zeros).
 */
export class OpenDirs {
  private readonly open: Array<{ rel: string; dir: DirHandle | undefined }>;
  constructor(top: DirHandle) {
    this.open = [{ rel: '', dir: top }];
  }

  parentOf(rel: string): DirHandle | undefined {
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? '' : rel.slice(0, cut);
    while (this.open.length > 1 && this.open.at(-1)!.rel !== parent) closeDir(this.open.pop()!.dir);
    return this.open.at(-1)!.rel === parent ? this.open.at(-1)!.dir : undefined;
  }

  push(rel: string, dir: DirHandle | undefined): void {
    this.open.push({ rel, dir });
  }

  /** Path mode: every directory from the root down is still the one opened. */
  readonly allStillThere = (): boolean => treeReading.anchored || this.open.every((o) => o.dir !== undefined && stillThere(o.dir));

  closeAll(): void {
    for (const o of this.open) closeDir(o.dir);
  }
}
