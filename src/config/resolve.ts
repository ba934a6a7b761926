// What one workload gets from the dev config and the command line: its rewrite settings,
// its sync, its forwards and its run command, from one field table with one merge rule
// per field. Pure: the caller reads files, resolves paths and checks what the result may do.
//
// Layers, lowest first: the config's `defaults`, the config's entry for the workload, the
// flags. Each field merges one way:
//   replace  the highest layer that sets the field wins (a flag given replaces the config's value)
//   byName   env: variables merged by name, a higher layer replaces one variable and keeps the rest
//   append   sync.ignore, persist: every layer's entries, defaults first, flags last (persist: each path once)
// The workload's entry is found one way (`entryFor`): same kind and name, and the entry naming
// this namespace before an entry naming none.

import type { ClaimOptions } from '../core/persist.ts';
import type { DevSettingsInput, EnvVar } from '../core/settings.ts';
import type { InitialStrategy } from '../sync/initial.ts';
import type { DevConfig, GitOpsChoice, SyncMode, WorkloadConfig, WorkloadEntry } from './devconfig.ts';

type Rule = 'replace' | 'byName' | 'append';

/** Every field a layer can set, what it feeds, and how layers merge it. */
export const FIELDS = {
  container: { part: 'settings', rule: 'replace' },
  image: { part: 'settings', rule: 'replace' },
  workdir: { part: 'settings', rule: 'replace' },
  command: { part: 'settings', rule: 'replace' },
  env: { part: 'settings', rule: 'byName' },
  resources: { part: 'settings', rule: 'replace' },
  cpu: { part: 'settings', rule: 'replace' },
  memory: { part: 'settings', rule: 'replace' },
  keepSecurityContext: { part: 'settings', rule: 'replace' },
  renameContainer: { part: 'settings', rule: 'replace' },
  sidecarImage: { part: 'settings', rule: 'replace' },
  persist: { part: 'settings', rule: 'append' },
  size: { part: 'volume', rule: 'replace' },
  storageClass: { part: 'volume', rule: 'replace' },
  localDir: { part: 'sync', rule: 'replace' },
  ignore: { part: 'sync', rule: 'append' },
  ignoreFile: { part: 'sync', rule: 'replace' },
  mode: { part: 'sync', rule: 'replace' },
  initial: { part: 'sync', rule: 'replace' },
  forward: { part: 'forward', rule: 'replace' },
  reverse: { part: 'forward', rule: 'replace' },
  run: { part: 'run', rule: 'replace' },
  duplicate: { part: 'mode', rule: 'replace' },
  gitops: { part: 'mode', rule: 'replace' },
} as const satisfies Record<string, { part: 'settings' | 'volume' | 'sync' | 'forward' | 'run' | 'mode'; rule: Rule }>;

export type Field = keyof typeof FIELDS;

/** One layer, flat: the rewrite settings and the volume/sync/forward/run fields side by side. */
export interface Layer extends DevSettingsInput, ClaimOptions {
  /** As written in its layer: relative to the config file's directory, or as typed on the command line. */
  localDir?: string;
  ignore?: readonly string[];
  /** `.gitignore`: the tree's .gitignore files are ignore patterns too. */
  ignoreFile?: '.gitignore';
  mode?: SyncMode;
  /** `--initial`: what the first sync does when both sides have files. */
  initial?: InitialStrategy;
  /** Forward specs as written (`LOCAL:REMOTE`, `:REMOTE`, `PORT`). */
  forward?: readonly string[];
  /** Reverse forward specs as written (`REMOTE:LOCAL`, `PORT`). */
  reverse?: readonly string[];
  run?: string;
  /** Duplicate mode: a dev copy beside the workload instead of the workload itself. */
  duplicate?: boolean;
  gitops?: GitOpsChoice;
}

/** Which layer a replaced value came from: messages and path rules differ for the file and the flags. */
export type Origin = 'flag' | 'config';

export interface Resolved {
  settings: DevSettingsInput;
  /** The persistent claim's size and StorageClass (`persistentVolume:`, `--persist-size`, `--persist-class`). */
  volume: ClaimOptions;
  sync: { localDir?: { value: string; from: Origin }; ignore: string[]; ignoreFile?: '.gitignore'; mode?: { value: SyncMode; from: Origin }; initial?: InitialStrategy };
  forward?: { specs: readonly string[]; from: Origin };
  reverse?: { specs: readonly string[]; from: Origin };
  run?: string;
  duplicate?: boolean;
  gitops?: GitOpsChoice;
}

/** The entry for a workload: kind and name, and the entry naming this namespace before one naming none (any, without a namespace). */
export function entryFor(config: DevConfig, kind: string, name: string, namespace: string | undefined): WorkloadEntry | undefined {
  const same = config.workloads.filter((w) => w.ref.kind.kind === kind && w.ref.name === name);
  if (namespace === undefined) return same[0];
  return same.find((w) => w.ref.namespace === namespace) ?? same.find((w) => w.ref.namespace === undefined);
}

/** A config layer (defaults or an entry), flat. */
function layerOf(config: WorkloadConfig): Layer {
  const { sync, persistentVolume, ...rest } = config;
  const layer: Layer = settingsOf(rest);
  if (persistentVolume?.size !== undefined) layer.size = persistentVolume.size;
  if (persistentVolume?.storageClass !== undefined) layer.storageClass = persistentVolume.storageClass;
  if (sync?.localDir !== undefined) layer.localDir = sync.localDir;
  if (sync?.ignore !== undefined) layer.ignore = sync.ignore;
  if (sync?.ignoreFile !== undefined) layer.ignoreFile = sync.ignoreFile;
  if (sync?.mode !== undefined) layer.mode = sync.mode;
  if (sync?.initial !== undefined) layer.initial = sync.initial;
  if (config.forward !== undefined) layer.forward = config.forward;
  if (config.reverse !== undefined) layer.reverse = config.reverse;
  if (config.run !== undefined) layer.run = config.run;
  if (config.duplicate !== undefined) layer.duplicate = config.duplicate;
  if (config.gitops !== undefined) layer.gitops = config.gitops;
  return layer;
}

/** The highest layer's value of a `replace` field, with where it came from. */
function replaced<F extends Field>(field: F, layers: ReadonlyArray<{ layer: Layer; from: Origin }>): { value: NonNullable<Layer[F]>; from: Origin } | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const { layer, from } = layers[i]!;
    const value = layer[field];
    if (value !== undefined) return { value: value as NonNullable<Layer[F]>, from };
  }
  return undefined;
}

/** The dev config and the flags for one workload, merged by the field table. */
export function resolve(config: DevConfig | undefined, workload: { kind: string; name: string }, namespace: string | undefined, flags: Layer = {}): Resolved {
  const entry = config ? entryFor(config, workload.kind, workload.name, namespace) : undefined;
  const layers: Array<{ layer: Layer; from: Origin }> = [
    ...(config ? [{ layer: layerOf(config.defaults), from: 'config' as const }] : []),
    ...(entry ? [{ layer: layerOf(entry), from: 'config' as const }] : []),
    { layer: flags, from: 'flag' },
  ];
  const settingsLayers = layers.map(({ layer }) => settingsOf(layer));
  const localDir = replaced('localDir', layers);
  const mode = replaced('mode', layers);
  const initial = replaced('initial', layers);
  const ignoreFile = replaced('ignoreFile', layers);
  const forward = replaced('forward', layers);
  const reverse = replaced('reverse', layers);
  const run = replaced('run', layers);
  const size = replaced('size', layers);
  const storageClass = replaced('storageClass', layers);
  const duplicate = replaced('duplicate', layers);
  const gitops = replaced('gitops', layers);
  return {
    settings: mergeSettings(...settingsLayers),
    volume: { ...(size ? { size: size.value } : {}), ...(storageClass ? { storageClass: storageClass.value } : {}) },
    sync: {
      ...(localDir ? { localDir } : {}),
      ignore: layers.flatMap(({ layer }) => [...(layer.ignore ?? [])]),
      ...(ignoreFile ? { ignoreFile: ignoreFile.value } : {}),
      ...(mode ? { mode } : {}),
      ...(initial ? { initial: initial.value } : {}),
    },
    ...(forward ? { forward: { specs: forward.value, from: forward.from } } : {}),
    ...(reverse ? { reverse: { specs: reverse.value, from: reverse.from } } : {}),
    ...(run ? { run: run.value } : {}),
    ...(duplicate ? { duplicate: duplicate.value } : {}),
    ...(gitops ? { gitops: gitops.value } : {}),
  };
}

/** The rewrite settings of a layer (sync, forward and run are not the rewrite's business). */
export function settingsOf(config: DevSettingsInput): DevSettingsInput {
  const out: DevSettingsInput = {};
  for (const field of Object.keys(FIELDS) as Field[]) {
    if (FIELDS[field].part !== 'settings') continue;
    const value = config[field as keyof DevSettingsInput];
    if (value === undefined) continue;
    (out as Record<string, unknown>)[field] = field === 'env' ? (value as EnvVar[]).map((e) => ({ ...e })) : field === 'command' || field === 'persist' ? [...(value as string[])] : field === 'resources' || field === 'cpu' || field === 'memory' ? structuredClone(value) : value;
  }
  return out;
}

/** Settings layered left to right by the field table: `replace` fields field by field, env by variable name, persist appended. */
export function mergeSettings(...layers: readonly DevSettingsInput[]): DevSettingsInput {
  const out: DevSettingsInput = {};
  let env: EnvVar[] | undefined;
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer) as [keyof DevSettingsInput, unknown][]) {
      if (value === undefined || key === 'env') continue;
      (out as Record<string, unknown>)[key] = key === 'persist' ? [...new Set([...(out.persist ?? []), ...(value as string[])])] : value;
    }
    if (layer.env !== undefined) {
      env = [...(env ?? [])];
      for (const e of layer.env) {
        const at = env.findIndex((x) => x.name === e.name);
        if (at >= 0) env[at] = { ...e };
        else env.push({ ...e });
      }
    }
  }
  if (env !== undefined) out.env = env;
  return out;
}

/** The rewrite settings alone (render: every workload of a stream). */
export function settingsFor(config: DevConfig | undefined, kind: string, name: string, namespace: string | undefined, flags: DevSettingsInput): DevSettingsInput {
  return resolve(config, { kind, name }, namespace, flags).settings;
}
