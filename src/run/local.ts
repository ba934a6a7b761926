// The runner's edge to the local synced directory: its .stignore, whether a path is
// there, and the watcher that reports saves (the fast path of src/sync/watch.ts, here
// only told what changed: the session's own fast path asks syncthing to scan).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STIGNORE } from '../sync/ignores.ts';
import { FastPath } from '../sync/watch.ts';

export interface TreeWatch {
  /** True for a relative path ("/"-separated) whose changes are not reported. */
  isIgnored(rel: string): boolean;
  /** Changed relative paths; [] when anything may have changed (the kernel dropped events). */
  changed(subs: string[]): void;
  error(message: string): void;
}

export interface LocalTree {
  /** The local synced directory (for messages). */
  readonly root: string;
  /** The lines of the directory's .stignore; undefined when it has none (throws when it cannot be read). */
  ignoreLines(): string[] | undefined;
  exists(rel: string): boolean;
  /** Starts watching the tree until close(). */
  watch(watch: TreeWatch): { close(): void };
}

export function localTree(root: string): LocalTree {
  return {
    root,
    ignoreLines: () => {
      const path = join(root, STIGNORE);
      return existsSync(path) ? readFileSync(path, 'utf8').split(/\r?\n/) : undefined;
    },
    exists: (rel) => existsSync(join(root, rel)),
    watch: (watch) => {
      const fastPath = new FastPath({
        root,
        isIgnored: (rel) => watch.isIgnored(rel),
        maxSubs: 100_000,
        scan: async (subs) => watch.changed(subs),
        onError: (message) => watch.error(message),
      });
      fastPath.start();
      return fastPath;
    },
  };
}
