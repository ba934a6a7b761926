// The sync options of `sync` and `run` (and what `start` hands over to them): flags, merged
// over the dev config's sync settings (src/config/resolve.ts), then checked: what a file alone
// may ask for is limited.

import { realpathSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { gitignorePatterns } from '../sync/ignores.ts';
import type { DevConfig } from '../config/devconfig.ts';
import { staysInside } from '../config/paths.ts';
import type { Resolved } from '../config/resolve.ts';
import { DevError } from '../core/errors.ts';
import { INITIAL_STRATEGIES, type InitialStrategy } from '../sync/initial.ts';
import { repeatable, type OptionSpec, type OptionsOf, type Problems } from './command.ts';

export const SYNC_OPTIONS = {
  'local-dir': { type: 'string', describe: 'Local directory to sync (default: the dev config\'s sync.localDir, else the current directory)', field: 'localDir' },
  'two-way': { type: 'boolean', describe: 'Also bring changes made in the dev container back (default: the dev config\'s sync.mode, else send-only: the local folder is never changed)' },
  config: { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present): sync, run, forward' },
  syncthing: { type: 'string', describe: 'Path of the syncthing binary (default: $KUBECTL_DEV_SYNCTHING, then the one kubectl-dev carries, then syncthing on PATH)' },
  initial: { choices: INITIAL_STRATEGIES, describe: 'When the laptop and the container both have files, what the first sync does: local (the laptop wins; default), remote (the container wins), newest (the newer file wins), keep-both (the newer wins, the older is kept as a .sync-conflict- copy); default: the dev config\'s sync.initial', field: 'initial' },
  ignore: { type: 'string', coerce: repeatable, describe: 'A path pattern not to sync (syncthing .stignore syntax; repeatable; added to the dev config\'s sync.ignore; .git is ignored by default)', field: 'ignore' },
  // For comparisons (bench/sync.ts, bench/hot-reload.ts): syncthing's own watcher instead of the fast path.
  watcher: { choices: ['fast', 'syncthing'], default: 'fast', hidden: true },
  'watcher-delay': { type: 'number', default: 1, hidden: true },
} as const satisfies Record<string, OptionSpec>;

export type SyncFlagArgs = OptionsOf<typeof SYNC_OPTIONS>;

export interface SyncChoice {
  localDir: string;
  twoWay: boolean;
  ignores: string[];
  /** `--initial` (or sync.initial): the first sync when both sides have files. */
  initial?: InitialStrategy;
  /** What the .gitignore files ask for that syncthing cannot say exactly (sync.ignoreFile). */
  ignoreNotes?: string[];
  syncthingPath?: string;
  watcher?: 'syncthing';
  watcherDelayS?: number;
}

/** The directory the dev config's paths are relative to. */
export function configDirOf(config: DevConfig | undefined, cwd: string): string {
  return dirname(resolve(cwd, config?.source ?? '.kubectl-dev.yaml'));
}

/**
 * Flags win over the dev config; paths are resolved against `cwd` (flags) or the config file's
 * directory. What a file alone may ask for is limited: its localDir must stay in its directory
 * (symlinks included), and two-way sync, which writes into the local tree, needs --two-way.
 * Problems go to `problems`; the choice is returned either way.
 */
export function syncChoiceFrom(resolved: Resolved, args: SyncFlagArgs, config: DevConfig | undefined, cwd: string, problems: Problems): SyncChoice {
  const configDir = configDirOf(config, cwd);
  const local = resolved.sync.localDir;
  const localDir = !local ? cwd : local.from === 'flag' ? resolve(cwd, local.value) : resolve(configDir, local.value);
  if (local?.from === 'config') problems.check(() => checkInside(localDir, configDir, config?.source ?? ''));
  if (resolved.sync.mode?.value === 'two-way' && args['two-way'] === undefined) {
    problems.add(new DevError('INVALID_OPTION', `${config?.source} asks for two-way sync (sync.mode: two-way), which a dev config cannot turn on by itself: changes in the container would be written into your local folder`,
      'pass --two-way to allow it (or --no-two-way for send-only).', { source: config?.source ?? '' }));
  }
  // The tree's .gitignore files, after the explicit patterns (syncthing: the first match decides).
  const fromGit = resolved.sync.ignoreFile === '.gitignore' ? gitignorePatterns(localDir) : { lines: [], warnings: [] };
  return {
    localDir,
    twoWay: args['two-way'] ?? false,
    ignores: [...resolved.sync.ignore, ...fromGit.lines],
    ...(resolved.sync.initial !== undefined ? { initial: resolved.sync.initial } : {}),
    ...(fromGit.warnings.length > 0 ? { ignoreNotes: fromGit.warnings } : {}),
    ...(args.syncthing !== undefined ? { syncthingPath: resolve(cwd, args.syncthing) } : {}),
    ...(args.watcher === 'syncthing' ? { watcher: 'syncthing' as const, watcherDelayS: args['watcher-delay'] } : {}),
  };
}

/** The dev config's localDir, with symlinks resolved, must still be inside the config's directory. */
function checkInside(localDir: string, configDir: string, source: string): void {
  let real: string;
  let base: string;
  try {
    real = realpathSync(localDir);
    base = realpathSync(configDir);
  } catch {
    return; // missing: the sync session reports it
  }
  const rel = relative(base, real);
  if (rel !== '' && (!staysInside(rel) || resolve(base, rel) !== real)) {
    throw new DevError('INVALID_OPTION', `${source}: sync.localDir resolves to ${real}, outside the config's directory ${base} (through a symbolic link)`,
      'a dev config can only sync its own project\'s folders; pass --local-dir on the command line to sync another folder.', { source });
  }
}
