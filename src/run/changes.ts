// When to restart: local saves are noted as pending; the sidecar's index updates say
// which paths have landed in the container. A restart is due once something that
// matters has landed, nothing saved is still on its way, and both sides have been
// quiet for a moment (a save of many files restarts once). Pure: times are passed in.

import { posix } from 'node:path';

export interface ChangeTrackerOptions {
  /** Quiet time after the last save or landing before a restart. */
  quietMs: number;
  /** A save that has not landed after this long stops holding the restart back (reported). */
  maxWaitMs: number;
  /** Only paths matching one of these globs restart (none: every path). */
  restartOn?: readonly string[];
}

export interface DueRestart {
  /** Landed paths that matter, as reported (first few). */
  paths: string[];
  /** How many landed paths matter in all. */
  count: number;
  /** Saved paths given up on (they never landed within maxWaitMs). */
  gaveUpOn: string[];
}

/** True when `path` matches `glob`: a glob without "/" matches the file name at any depth. */
export function matchesRestartGlob(path: string, glob: string): boolean {
  if (!glob.includes('/')) return posix.matchesGlob(posix.basename(path), glob) || posix.matchesGlob(path, glob);
  return posix.matchesGlob(path, glob.replace(/^\.?\//, ''));
}

/** A pending path is settled by a landing of itself, of a path inside it, or of a directory containing it. */
function settles(landed: string, pending: string): boolean {
  return landed === pending || landed.startsWith(`${pending}/`) || pending.startsWith(`${landed}/`);
}

export class ChangeTracker {
  private readonly options: ChangeTrackerOptions;
  private readonly pending = new Map<string, number>();
  private landed: string[] = [];
  private lastActivity = -Infinity;

  constructor(options: ChangeTrackerOptions) {
    this.options = options;
  }

  private matters(path: string): boolean {
    const globs = this.options.restartOn ?? [];
    return globs.length === 0 || globs.some((g) => matchesRestartGlob(path, g));
  }

  /** Local saves (paths relative to the synced dir, already without ignored ones). */
  saved(paths: readonly string[], now: number): void {
    for (const path of paths) if (!this.pending.has(path)) this.pending.set(path, now);
    if (paths.length > 0) this.lastActivity = now;
  }

  /** Paths the sidecar has written to the container's work dir. */
  landedIn(paths: readonly string[], now: number): void {
    for (const path of paths) {
      for (const pending of [...this.pending.keys()]) if (settles(path, pending)) this.pending.delete(pending);
      if (this.matters(path)) this.landed.push(path);
    }
    if (paths.length > 0) this.lastActivity = now;
  }

  /** Forget a pending save (it vanished before syncthing saw it, e.g. an editor's temp file). */
  drop(path: string): void {
    this.pending.delete(path);
  }

  /** Saved paths still on their way. */
  waitingFor(): string[] {
    return [...this.pending.keys()];
  }

  /** When something will be due at the earliest (for a timer), or undefined when nothing has landed. */
  nextCheckAt(): number | undefined {
    if (this.landed.length === 0) return undefined;
    const quietAt = this.lastActivity + this.options.quietMs;
    // With saves on their way, a landing re-checks earlier; otherwise the last of them is given up on.
    return this.pending.size === 0 ? quietAt : Math.max(quietAt, ...[...this.pending.values()].map((at) => at + this.options.maxWaitMs));
  }

  /** A restart, when one is due now; taking it clears what triggered it. */
  take(now: number): DueRestart | undefined {
    if (this.landed.length === 0 || now - this.lastActivity < this.options.quietMs) return undefined;
    const gaveUpOn = [...this.pending].filter(([, at]) => now - at >= this.options.maxWaitMs).map(([path]) => path);
    if (this.pending.size > gaveUpOn.length) return undefined;
    for (const path of gaveUpOn) this.pending.delete(path);
    const unique = [...new Set(this.landed)];
    this.landed = [];
    return { paths: unique.slice(0, 5), count: unique.length, gaveUpOn };
  }
}
