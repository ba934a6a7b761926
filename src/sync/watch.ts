// The fast path: watch the local directory and ask syncthing to scan exactly the
// paths that changed (`POST /rest/db/scan?folder=F&sub=…`), instead of waiting for
// syncthing's own watcher (≥ 1 s per change). On Linux every directory gets its
// own inotify watch (fs.watch without `recursive`), skipping ignored directories
// such as .git; elsewhere Node's recursive fs.watch (FSEvents, ReadDirectoryChangesW)
// watches the tree. Scans are serialised: paths that change during a scan go into
// the next one.

import { watch, readdirSync, statSync, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface FastPathOptions {
  root: string;
  isIgnored: (relPath: string) => boolean;
  /** Scans the given relative paths (empty: the whole folder); resolves when done. */
  scan: (subs: string[]) => Promise<void>;
  onError?: (message: string) => void;
  /** Called after each scan with the paths and how long it took (for status and benchmarks). */
  onScan?: (subs: string[], ms: number) => void;
  /** More changed paths than this in one batch scan their common parents (or everything). */
  maxSubs?: number;
  /** Use Node's recursive watcher even on Linux. */
  forceRecursive?: boolean;
}

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

/** Collapses many paths to fewer scan targets: their parent directories, or the whole folder. */
export function collapseSubs(paths: readonly string[], max: number): string[] {
  const unique = [...new Set(paths)];
  if (unique.length <= max) return unique;
  const parents = [...new Set(unique.map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '')))];
  if (parents.includes('') || parents.length > max) return [];
  // Drop parents inside other parents.
  parents.sort();
  return parents.filter((p, i) => !parents.slice(0, i).some((q) => p.startsWith(`${q}/`)));
}

export class FastPath {
  private readonly options: FastPathOptions;
  private readonly watchers = new Map<string, FSWatcher>();
  private pending = new Set<string>();
  private scanning = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set when watching failed; the caller then relies on syncthing's own watcher. */
  failed: string | undefined;
  scans = 0;

  constructor(options: FastPathOptions) {
    this.options = options;
  }

  start(): void {
    if (process.platform === 'linux' && !this.options.forceRecursive) {
      this.watchTree('');
    } else {
      try {
        const w = watch(this.options.root, { recursive: true }, (_event, filename) => {
          if (filename) this.changed(toPosix(filename.toString()));
        });
        w.on('error', (error) => this.fail(`watching ${this.options.root}: ${error.message}`));
        this.watchers.set('', w);
      } catch (error) {
        this.fail(`watching ${this.options.root}: ${(error as Error).message}`);
      }
    }
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = message;
    this.options.onError?.(message);
  }

  /** Watches `rel` and every directory below it that is not ignored. */
  private watchTree(rel: string): void {
    if (this.closed || this.watchers.has(rel)) return;
    if (rel !== '' && this.options.isIgnored(rel)) return;
    const abs = rel === '' ? this.options.root : join(this.options.root, rel);
    let w: FSWatcher;
    try {
      w = watch(abs, { persistent: true }, (_event, filename) => {
        if (!filename) {
          // The kernel dropped events (queue overflow): scan the directory.
          this.changed(rel);
          return;
        }
        const child = rel === '' ? filename.toString() : `${rel}/${filename.toString()}`;
        this.changed(child);
        // A new directory (or one moved in) needs its own watch.
        try {
          if (!this.watchers.has(child) && statSync(join(this.options.root, child)).isDirectory()) {
            this.watchTree(child);
            // Files created before the watch was in place.
            this.changed(child);
          }
        } catch {
          /* gone already */
        }
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      this.fail(code === 'ENOSPC'
        ? `out of inotify watches at ${abs} (raise fs.inotify.max_user_watches); syncthing's own watcher takes over`
        : `watching ${abs}: ${(error as Error).message}`);
      return;
    }
    w.on('error', () => {
      // Typically the directory was removed.
      w.close();
      this.watchers.delete(rel);
    });
    this.watchers.set(rel, w);
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) this.watchTree(rel === '' ? entry.name : `${rel}/${entry.name}`);
    }
  }

  /** Records a changed path (relative, "/"-separated) and schedules a scan. */
  changed(relPath: string): void {
    if (this.closed) return;
    if (relPath !== '' && this.options.isIgnored(relPath)) return;
    // A watched directory that is gone: forget the watches at and under it.
    if (relPath !== '' && this.watchers.has(relPath)) {
      let gone = false;
      try {
        gone = !statSync(join(this.options.root, relPath)).isDirectory();
      } catch {
        gone = true;
      }
      if (gone) {
        for (const [key, w] of this.watchers) {
          if (key === relPath || key.startsWith(`${relPath}/`)) {
            w.close();
            this.watchers.delete(key);
          }
        }
      }
    }
    this.pending.add(relPath);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.scanning) return;
    // A few milliseconds gather the events of one save (write, close, rename).
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 3);
  }

  private async flush(): Promise<void> {
    if (this.scanning || this.pending.size === 0 || this.closed) return;
    this.scanning = true;
    const paths = [...this.pending];
    this.pending = new Set();
    const subs = paths.includes('') ? [] : collapseSubs(paths, this.options.maxSubs ?? 100);
    const started = performance.now();
    try {
      await this.options.scan(subs);
      this.scans++;
      this.options.onScan?.(subs, performance.now() - started);
    } catch (error) {
      this.options.onError?.(`scan after a change: ${(error as Error).message}`);
      // Try these paths again with the next change or the next full scan.
      for (const p of paths) this.pending.add(p);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      this.scanning = false;
    }
    if (this.pending.size > 0) this.schedule();
  }

  /** Number of directories watched. */
  get watched(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

export function relativePosix(root: string, abs: string): string {
  return toPosix(relative(root, abs));
}
