// The sync options of `sync` and `run` (and what `start` hands over to them): flags, merged
// over the dev config's sync settings.

import { realpathSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { DevConfig } from '../config/devconfig.ts';
import { staysInside } from '../config/paths.ts';
import { DevError } from '../core/errors.ts';

export interface SyncFlagArgs {
  'local-dir'?: string;
  'two-way'?: boolean;
  config?: string;
  syncthing?: string;
  ignore?: string | string[];
  watcher: 'fast' | 'syncthing';
  'watcher-delay': number;
}

export function withSyncFlags<T>(y: Argv<T>): Argv<T> {
  return y
    .option('local-dir', { type: 'string', describe: 'Local directory to sync (default: the dev config\'s sync.localDir, else the current directory)' })
    .option('two-way', { type: 'boolean', describe: 'Also bring changes made in the dev container back (default: the dev config\'s sync.mode, else send-only: the local folder is never changed)' })
    .option('config', { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present): sync, run, forward' })
    .option('syncthing', { type: 'string', describe: 'Path of the syncthing binary (default: $KUBECTL_DEV_SYNCTHING, then the one kubectl-dev carries, then syncthing on PATH)' })
    .option('ignore', { type: 'string', describe: 'A path pattern not to sync (syncthing .stignore syntax; repeatable; added to the dev config\'s sync.ignore; .git is ignored by default)' })
    // For comparisons (bench/sync.ts, bench/hot-reload.ts): syncthing's own watcher instead of the fast path.
    .option('watcher', { choices: ['fast', 'syncthing'] as const, default: 'fast' as const, hidden: true })
    .option('watcher-delay', { type: 'number', default: 1, hidden: true }) as Argv<T>;
}

/** The dev config's sync settings for a workload (its entry over `defaults`), with localDir resolved against the file's directory. */
export function syncSettingsFrom(config: DevConfig | undefined, kind: string, name: string, configDir: string): { localDir?: string; ignore: string[]; twoWay?: boolean } {
  const entry = config?.workloads.find((w) => w.ref.kind.kind === kind && w.ref.name === name)?.sync;
  const defaults = config?.defaults.sync;
  const localDir = entry?.localDir ?? defaults?.localDir;
  const mode = entry?.mode ?? defaults?.mode;
  return {
    ...(localDir !== undefined ? { localDir: resolve(configDir, localDir) } : {}),
    ignore: [...(defaults?.ignore ?? []), ...(entry?.ignore ?? [])],
    ...(mode !== undefined ? { twoWay: mode === 'two-way' } : {}),
  };
}

export interface SyncChoice {
  localDir: string;
  twoWay: boolean;
  ignores: string[];
  syncthingPath?: string;
  watcher?: 'syncthing';
  watcherDelayS?: number;
}

/**
 * Flags win over the dev config; paths are resolved against `cwd` (flags) or the config file's
 * directory. What a file alone may ask for is limited: its localDir must stay in its directory
 * (symlinks included), and two-way sync, which writes into the local tree, needs --two-way.
 */
export function syncChoiceFrom(args: SyncFlagArgs, config: DevConfig | undefined, kind: string, name: string, cwd: string): SyncChoice {
  const configDir = dirname(resolve(cwd, config?.source ?? '.kubectl-dev.yaml'));
  const fromConfig = syncSettingsFrom(config, kind, name, configDir);
  if (args['local-dir'] === undefined && fromConfig.localDir !== undefined) checkInside(fromConfig.localDir, configDir, config?.source ?? '');
  if (fromConfig.twoWay === true && args['two-way'] === undefined) {
    throw new DevError('INVALID_OPTION', `${config?.source} asks for two-way sync (sync.mode: two-way), which a dev config cannot turn on by itself: changes in the container would be written into your local folder`,
      'pass --two-way to allow it (or --no-two-way for send-only).', { source: config?.source ?? '' });
  }
  return {
    localDir: args['local-dir'] !== undefined ? resolve(cwd, args['local-dir']) : (fromConfig.localDir ?? cwd),
    twoWay: args['two-way'] ?? false,
    ignores: [...fromConfig.ignore, ...[args.ignore ?? []].flat()],
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
