// The dev config file (`.kubectl-dev.yaml`, or `--config FILE`, or a kustomize
// function's functionConfig): per-workload defaults, so a developer types only
// `kubectl dev start deploy/reviews`. Pure: text or a parsed value in, a checked
// config out; every unknown key or wrong type is an error naming its path and line.
//
//   apiVersion: dev.kubectl-dev.io/v1alpha1   # optional
//   kind: DevConfig                           # optional
//   metadata: { name: shop }                  # optional: the name `up` records, `status` groups by
//   defaults:                                 # optional: for every workload
//     image: node:24
//   workloads:
//     deployment/reviews:                     # KIND/NAME as kubectl writes it
//       namespace: shop                       # optional
//       container: reviews
//       image: node:24-bookworm
//       workdir: /workspace
//       command: npm run dev                  # a string runs with /bin/sh -c; a list runs as is
//       env: { LOG_LEVEL: debug }             # or a list of {name, value} / {name, valueFrom}
//       resources: { limits: { memory: 2Gi } }
//       keepSecurityContext: false
//       renameContainer: dev
//       sidecarImage: docker.io/syncthing/syncthing:1.29.2
//       persist: [/workspace, /root/.npm]     # kept on the workload's PersistentVolumeClaim across end and start
//       persistentVolume: { size: 5Gi, storageClass: standard }   # optional; default 5Gi, the default class
//       sync: { localDir: ., ignore: [node_modules, '*.log'], mode: send-only }
//       forward: ['8080:9080', ':9229']      # LOCAL:REMOTE, :REMOTE (free local port) or PORT
//       reverse: ['5432:5432']               # REMOTE:LOCAL: the pod's 127.0.0.1:REMOTE reaches the laptop's LOCAL
//       run: npm run dev                      # the command `kubectl dev run` restarts
//       duplicate: true                       # a dev copy beside the workload (start --duplicate)
//       gitops: pause                         # a workload Argo CD manages: pause | ignore (start --gitops)
//
// Command-line flags override the file (see resolve.ts).

import type { InitialStrategy } from '../sync/initial.ts';
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { DevError, type ErrorLocation } from '../core/errors.ts';
import { parseWorkloadRef, type WorkloadRef } from '../core/kinds.ts';
import { isPlainObject } from '../core/objects.ts';
import { claimOptionProblems, type ClaimOptions } from '../core/persist.ts';
import { parseRequestAndLimit, type RequestAndLimit } from '../core/resources.ts';
import { validateSettings, type EnvVar } from '../core/settings.ts';
import { settingsOf } from './resolve.ts';
import { checkEnv, checkForward, checkReverse, checkKeys, checkSync, describeType, fieldsOf, strictString, stringList, type Failures } from './value-checks.ts';

export const DEV_CONFIG_API_VERSION = 'dev.kubectl-dev.io/v1alpha1';
export const DEV_CONFIG_KIND = 'DevConfig';
/** The file `start` and friends read from the working directory when no `--config` is given. */
export const DEV_CONFIG_FILE = '.kubectl-dev.yaml';

export type SyncMode = 'send-only' | 'two-way';

export interface SyncConfig {
  /** Local folder to sync, relative to the config file's directory (the caller resolves it). */
  localDir?: string;
  /** Ignore patterns (syncthing .stignore syntax), added to `.stignore` and the default `.git`. */
  ignore?: string[];
  /** `.gitignore`: the tree's .gitignore files are read as ignore patterns too, as git reads them. */
  ignoreFile?: '.gitignore';
  mode?: SyncMode;
  /** What the first sync does when the laptop and the container both have files (as --initial). */
  initial?: InitialStrategy;
}

/** What a user may set for a workload (or for every workload, under `defaults`). */
export interface WorkloadConfig {
  container?: string;
  image?: string;
  workdir?: string;
  command?: string[];
  env?: EnvVar[];
  resources?: Record<string, unknown>;
  /** `QUANTITY` or `REQUEST:LIMIT`, as `--cpu` and `--memory` take them. */
  cpu?: RequestAndLimit;
  memory?: RequestAndLimit;
  keepSecurityContext?: boolean;
  renameContainer?: string;
  sidecarImage?: string;
  /** Paths of the dev container kept on the workload's PersistentVolumeClaim. */
  persist?: string[];
  persistentVolume?: ClaimOptions;
  sync?: SyncConfig;
  /** Port forwards as written: `LOCAL:REMOTE`, `:REMOTE` or `PORT`. */
  forward?: string[];
  /** Reverse forwards as written: `REMOTE:LOCAL` or `PORT`. */
  reverse?: string[];
  /** The command `kubectl dev run` runs (and restarts) in the dev container. */
  run?: string;
  /** Duplicate mode: start makes a dev copy beside the workload and leaves the workload alone. */
  duplicate?: boolean;
  /** `--gitops`: what start does with a workload a GitOps tool manages. */
  gitops?: GitOpsChoice;
}

/** `pause`: an Argo CD Application's automated sync paused until end; `ignore`: go ahead regardless. */
export type GitOpsChoice = 'pause' | 'ignore';

export interface WorkloadEntry extends WorkloadConfig {
  /** The key as written, e.g. `deploy/reviews`. */
  key: string;
  ref: WorkloadRef;
}

export interface DevConfig {
  /** Where the config came from (file name, or `functionConfig`). */
  source: string;
  /** `metadata.name`: what `up` records on the workloads it starts and `status` groups them by. */
  name?: string;
  defaults: WorkloadConfig;
  workloads: WorkloadEntry[];
}

/** Finds a line for a path when the config came from text. */
type Locator = (path: readonly (string | number)[]) => number | undefined;

class Checker implements Failures {
  readonly problems: { path: string; message: string; line?: number }[] = [];
  private readonly locate: Locator;
  constructor(locate: Locator) {
    this.locate = locate;
  }

  fail(path: readonly (string | number)[], message: string): void {
    const line = this.locate(path);
    this.problems.push({ path: formatPath(path), message, ...(line !== undefined ? { line } : {}) });
  }
}

/** `workloads["deploy/web"].sync.ignore[2]` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(step)) out += out === '' ? step : `.${step}`;
    else out += `[${JSON.stringify(step)}]`;
  }
  return out;
}

/** The keys of a workload entry (and of `defaults`), from the field table: the settings, the volume's, then sync, forward, run and the mode. */
const WORKLOAD_KEYS = [...fieldsOf('settings'), 'persistentVolume', 'sync', ...fieldsOf('forward'), ...fieldsOf('run'), ...fieldsOf('mode')];
const VOLUME_KEYS = fieldsOf('volume');

function checkPersistentVolume(value: unknown, path: readonly (string | number)[], c: Checker): ClaimOptions | undefined {
  if (!isPlainObject(value)) {
    c.fail(path, `must be a mapping (${VOLUME_KEYS.join(', ')}), not ${describeType(value)}`);
    return undefined;
  }
  checkKeys(value, VOLUME_KEYS, path, c);
  const out: ClaimOptions = {};
  for (const key of ['size', 'storageClass'] as const) {
    if (value[key] === undefined) continue;
    const s = strictString(value[key], [...path, key], c);
    if (s !== undefined) out[key] = s;
  }
  for (const problem of claimOptionProblems(out)) c.fail(path, problem);
  return out;
}

function checkWorkloadConfig(value: unknown, path: readonly (string | number)[], c: Checker, scalarText: (path: readonly (string | number)[]) => string | undefined, extraKeys: readonly string[] = []): WorkloadConfig {
  const out: WorkloadConfig = {};
  if (value === null || value === undefined) return out; // `deploy/web:` with nothing under it selects with defaults
  if (!isPlainObject(value)) {
    c.fail(path, `must be a mapping of settings, not ${describeType(value)}`);
    return out;
  }
  checkKeys(value, [...extraKeys, ...WORKLOAD_KEYS], path, c);
  for (const key of ['container', 'image', 'workdir', 'renameContainer', 'sidecarImage', 'run'] as const) {
    if (value[key] === undefined) continue;
    const s = strictString(value[key], [...path, key], c);
    if (s !== undefined) out[key] = s;
  }
  if (value.command !== undefined) {
    if (typeof value.command === 'string') out.command = ['/bin/sh', '-c', value.command];
    else if (Array.isArray(value.command)) {
      const list = stringList(value.command, [...path, 'command'], c);
      if (list) out.command = list;
    } else c.fail([...path, 'command'], `must be a string (run with /bin/sh -c) or a list of strings, not ${describeType(value.command)}`);
  }
  if (value.env !== undefined) {
    const env = checkEnv(value.env, [...path, 'env'], c, scalarText);
    if (env) out.env = env;
  }
  if (value.resources !== undefined) {
    if (isPlainObject(value.resources)) {
      checkKeys(value.resources, ['requests', 'limits', 'claims'], [...path, 'resources'], c);
      out.resources = structuredClone(value.resources);
    } else c.fail([...path, 'resources'], `must be a mapping with requests and/or limits, not ${describeType(value.resources)}`);
  }
  for (const key of ['cpu', 'memory'] as const) {
    if (value[key] === undefined) continue;
    const text = typeof value[key] === 'number' ? String(value[key]) : strictString(value[key], [...path, key], c);
    if (text === undefined) continue;
    try {
      out[key] = parseRequestAndLimit(key, text);
    } catch (error) {
      if (error instanceof DevError) c.fail([...path, key], `${error.message.replace(`--${key} ${text}: `, '')} (write QUANTITY or REQUEST:LIMIT, e.g. ${key === 'cpu' ? '"500m:2"' : '"1Gi:4Gi"'})`);
      else throw error;
    }
  }
  if (value.gitops !== undefined) {
    if (value.gitops === 'pause' || value.gitops === 'ignore') out.gitops = value.gitops;
    else c.fail([...path, 'gitops'], `must be pause or ignore, not ${JSON.stringify(value.gitops)}`);
  }
  for (const key of ['keepSecurityContext', 'duplicate'] as const) {
    if (value[key] === undefined) continue;
    if (typeof value[key] === 'boolean') out[key] = value[key];
    else c.fail([...path, key], `must be true or false, not ${describeType(value[key])}`);
  }
  if (value.persist !== undefined) {
    const list = stringList(value.persist, [...path, 'persist'], c);
    if (list) out.persist = list;
  }
  if (value.persistentVolume !== undefined) {
    const volume = checkPersistentVolume(value.persistentVolume, [...path, 'persistentVolume'], c);
    if (volume) out.persistentVolume = volume;
  }
  if (value.sync !== undefined) {
    const sync = checkSync(value.sync, [...path, 'sync'], c);
    if (sync) out.sync = sync;
  }
  if (value.forward !== undefined) {
    const forward = checkForward(value.forward, [...path, 'forward'], c);
    if (forward) out.forward = forward;
  }
  if (value.reverse !== undefined) {
    const reverse = checkReverse(value.reverse, [...path, 'reverse'], c);
    if (reverse) out.reverse = reverse;
  }
  // The settings the rewrite checks itself (absolute workdir, valid container name, …).
  try {
    validateSettings(settingsOf(out));
  } catch (error) {
    if (error instanceof DevError) c.fail(path, error.message);
    else throw error;
  }
  return out;
}

const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'defaults', 'workloads'] as const;

/**
 * Checks a parsed config value (from a file or a kustomize functionConfig).
 * Throws one DevError listing every problem, each with its key path (and line when known).
 */
export function devConfigFromValue(value: unknown, source: string, locate: Locator = () => undefined, scalarText: (path: readonly (string | number)[]) => string | undefined = () => undefined): DevConfig {
  const c = new Checker(locate);
  const config: DevConfig = { source, defaults: {}, workloads: [] };
  if (value === null || value === undefined) return config; // an empty file: nothing configured
  if (!isPlainObject(value)) {
    c.fail([], `the dev config must be a mapping with defaults and workloads, not ${describeType(value)}`);
  } else {
    checkKeys(value, TOP_KEYS, [], c);
    if (value.apiVersion !== undefined && value.apiVersion !== DEV_CONFIG_API_VERSION) {
      c.fail(['apiVersion'], `must be ${DEV_CONFIG_API_VERSION}, not ${JSON.stringify(value.apiVersion)}`);
    }
    if (value.kind !== undefined && value.kind !== DEV_CONFIG_KIND) {
      c.fail(['kind'], `must be ${DEV_CONFIG_KIND}, not ${JSON.stringify(value.kind)}`);
    }
    if (value.metadata !== undefined && !isPlainObject(value.metadata)) c.fail(['metadata'], `must be a mapping, not ${describeType(value.metadata)}`);
    else if (value.metadata?.name !== undefined) {
      const name = strictString(value.metadata.name, ['metadata', 'name'], c);
      if (name !== undefined) config.name = name;
    }
    if (value.defaults !== undefined) config.defaults = checkWorkloadConfig(value.defaults, ['defaults'], c, scalarText);
    if (value.workloads !== undefined && value.workloads !== null) {
      if (!isPlainObject(value.workloads)) {
        c.fail(['workloads'], `must be a mapping of KIND/NAME to settings, not ${describeType(value.workloads)}`);
      } else {
        const seen = new Map<string, string>();
        for (const [key, settings] of Object.entries(value.workloads)) {
          const path = ['workloads', key];
          let ref: WorkloadRef | undefined;
          try {
            ref = parseWorkloadRef(key);
          } catch (error) {
            if (!(error instanceof DevError)) throw error;
            c.fail(path, `${error.message} (${error.hint})`);
          }
          const entry = checkWorkloadConfig(settings, path, c, scalarText, ['namespace']);
          let namespace: string | undefined;
          if (isPlainObject(settings) && settings.namespace !== undefined) namespace = strictString(settings.namespace, [...path, 'namespace'], c);
          if (!ref) continue;
          if (namespace !== undefined) ref = { ...ref, namespace };
          const id = `${ref.kind.kind}/${ref.name}@${ref.namespace ?? ''}`;
          const twin = seen.get(id);
          if (twin !== undefined) c.fail(path, `names the same workload as "${twin}"`);
          seen.set(id, key);
          config.workloads.push({ ...entry, key, ref });
        }
      }
    }
  }
  if (c.problems.length > 0) {
    // In the order of the file (problems without a line last).
    c.problems.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
    const first = c.problems[0]!;
    const lines = c.problems.map((p) => `${p.path || '(top level)'}${p.line !== undefined ? ` (line ${p.line})` : ''}: ${p.message}`);
    const where: ErrorLocation = { source, path: first.path };
    if (first.line !== undefined) where.line = first.line;
    throw new DevError('INVALID_OPTION', `invalid dev config: ${lines.join('; ')}`,
      `fix ${source === '-' ? 'the dev config' : source} (the keys are documented in docs/render.md and README.md).`, where);
  }
  return config;
}

/** Parses and checks dev config text (YAML or JSON). */
export function parseDevConfig(text: string, source: string): DevConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const problem = document.errors[0];
  if (problem) {
    const line = problem.linePos?.[0]?.line ?? lineCounter.linePos(problem.pos[0]).line;
    throw new DevError('INVALID_OPTION', `invalid dev config: invalid YAML: ${problem.message.split('\n')[0]}`,
      `fix ${source} at that line.`, { source, line });
  }
  const nodeAt = (path: readonly (string | number)[]): Node | undefined => {
    if (path.length === 0) return document.contents ?? undefined;
    const node = document.getIn(path, true) as Node | undefined;
    if (node !== undefined) return node;
    // An unknown key: point at the key itself.
    const parent = path.length === 1 ? document.contents : (document.getIn(path.slice(0, -1), true) as Node | undefined);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return undefined;
  };
  const locate: Locator = (path) => {
    // A missing key: the line of the nearest mapping that should hold it.
    for (let n = path.length; n >= 0; n--) {
      const node = nodeAt(path.slice(0, n));
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const scalarText = (path: readonly (string | number)[]): string | undefined => {
    const node = nodeAt(path);
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  };
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new DevError('INVALID_OPTION', `invalid dev config: ${(error as Error).message.split('\n')[0]}`, `fix ${source}.`, { source });
  }
  return devConfigFromValue(value, source, locate, scalarText);
}
