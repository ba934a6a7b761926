// The sync options of `sync` and `run` (and what `start` hands over to them): flags, merged
// over the dev config's sync settings.

import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { DevConfig } from '../config/devconfig.ts';

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
    .option('syncthing', { type: 'string', describe: 'Path of the syncthing binary (default: $KUBECTL_DEV_SYNCTHING, then syncthing on PATH)' })
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

/** Flags win over the dev config; paths are resolved against `cwd` (flags) or the config file's directory. */
export function syncChoiceFrom(args: SyncFlagArgs, config: DevConfig | undefined, kind: string, name: string, cwd: string): SyncChoice {
  const fromConfig = syncSettingsFrom(config, kind, name, dirname(resolve(cwd, config?.source ?? '.kubectl-dev.yaml')));
  return {
    localDir: args['local-dir'] !== undefined ? resolve(cwd, args['local-dir']) : (fromConfig.localDir ?? cwd),
    twoWay: args['two-way'] ?? fromConfig.twoWay ?? false,
    ignores: [...fromConfig.ignore, ...[args.ignore ?? []].flat()],
    ...(args.syncthing !== undefined ? { syncthingPath: resolve(cwd, args.syncthing) } : {}),
    ...(args.watcher === 'syncthing' ? { watcher: 'syncthing' as const, watcherDelayS: args['watcher-delay'] } : {}),
  };
}
