// Which local paths are never a reason to restart: syncthing's own files (the one
// definition, isSyncthingInternal of src/sync/seed.ts, at any depth) and what the
// synced dir's .stignore ignores. Pure but for the injected read of .stignore.

import { DEFAULT_IGNORES, ignoreMatcher, STIGNORE, syncthingRules } from '../sync/ignores.ts';
import { isSyncthingInternal } from '../sync/copy/index.ts';

/** A path inside or naming one of syncthing's own files. */
export function isSyncthingPath(rel: string): boolean {
  return rel.split('/').some(isSyncthingInternal);
}

export class WatchIgnores {
  private readonly read: () => readonly string[] | undefined;
  private matcher: (rel: string) => boolean = () => false;

  /** `read`: the lines of .stignore, undefined without one. */
  constructor(read: () => readonly string[] | undefined) {
    this.read = read;
    this.reload();
  }

  /** Reads .stignore again (after it changed); one that cannot be read counts as missing. */
  reload(): void {
    let lines: readonly string[] | undefined;
    try {
      lines = this.read();
    } catch {
      lines = undefined;
    }
    this.matcher = ignoreMatcher(lines ?? DEFAULT_IGNORES, syncthingRules());
  }

  /** What the watcher leaves out; the root .stignore is watched, so a change to it reloads the rules. */
  isIgnored(rel: string): boolean {
    return (rel !== STIGNORE && isSyncthingPath(rel)) || this.matcher(rel);
  }

  /** The saved paths that may land in the container ([] from the watcher: anything, ''). */
  saved(subs: readonly string[]): string[] {
    return subs.length === 0 ? [''] : subs.filter((rel) => !isSyncthingPath(rel));
  }
}
