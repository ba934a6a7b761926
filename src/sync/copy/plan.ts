// What the initial copy sends: the tree listed (read as tree.ts says, never outside it) and
// planned — every entry with the size and mtime its header gets, and the exact length of the
// tar stream. Deliberately conservative: regular files and directories that the ignore
// patterns certainly do not exclude, nothing of syncthing's own (.stignore, .stfolder, temp
// files), no symlinks or special files, no path too long for a plain ustar header, no file of
// 8 GiB or more. Everything else is left to syncthing.

import { lstatSync, readdirSync, type BigIntStats, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { endOfArchive, MAX_SIZE, padding, ustarName } from './tar.ts';
import { closeDir, entryStat, openDir, openRoot, stillThere, type DirHandle, type EntryStat, type Identity } from './tree.ts';

export { treeReading, type EntryStat } from './tree.ts';

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
  root?: Identity;
}

/** Names syncthing keeps to itself in any directory: never copied. */
export function isSyncthingInternal(name: string): boolean {
  return name === '.stignore' || name === '.stfolder' || name === '.stversions' ||
    (name.startsWith('.syncthing.') && name.endsWith('.tmp')) || (name.startsWith('~syncthing~') && name.endsWith('.tmp'));
}

/**
 * The entries to copy under `root`, directories before their contents, each with its lstat.
 * Ignored directories are not entered; unreadable ones are skipped (syncthing reports them).
 */
export function seedEntries(root: string, isIgnored: (rel: string) => boolean): SeedEntry[] {
  return [...walkTree(root, isIgnored)];
}

function* walkTree(root: string, isIgnored: (rel: string) => boolean, rootOut?: Identity): Generator<SeedEntry> {
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
  root?: Identity;
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

/** The top-level names among `entries` (what removeInContainer needs to undo a copy). */
export function topLevel(entries: readonly SeedEntry[]): string[] {
  return entries.filter((e) => !e.rel.includes('/')).map((e) => e.rel);
}
