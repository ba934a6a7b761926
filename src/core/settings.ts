// What a user can choose when entering dev mode, and the documented defaults.

import { DevError } from './errors.ts';
import { isPlainObject } from './objects.ts';
import { persistProblems } from './persist.ts';
import { quantityValue, type RequestAndLimit } from './resources.ts';

/** The dev container's PID 1 when none is given: blocks forever, and ends on SIGTERM/SIGINT (PID 1 has no default handlers, so sh alone would ignore them). */
export const DEFAULT_COMMAND: readonly string[] = ['/bin/sh', '-c', "trap 'kill $! 2>/dev/null; exit 0' TERM INT; tail -f /dev/null & wait"];
/** Where the synced source tree appears in the dev container. */
export const DEFAULT_WORKDIR = '/workspace';
/** The sync sidecar's image: the official syncthing image, pinned. */
export const DEFAULT_SIDECAR_IMAGE = 'docker.io/syncthing/syncthing:1.29.2';
/** Where the sidecar keeps syncthing's home (config, keys, database) and reads the Secret. */
export const SYNCTHING_HOME = '/var/kubectl-dev/syncthing';
export const SYNCTHING_SECRET_DIR = '/var/kubectl-dev/secret';
/** Ports syncthing listens on inside the pod, on 127.0.0.1 only (reached by port-forward). */
export const SYNCTHING_SYNC_PORT = 22000;
export const SYNCTHING_API_PORT = 8384;
/** The sidecar's GUI/REST address, given on its command line and in its env (the image sets STGUIADDRESS=0.0.0.0:8384). */
export const SYNCTHING_GUI_ADDRESS = `127.0.0.1:${SYNCTHING_API_PORT}`;
/** The user the sidecar runs as; group 0 lets it read the Secret files (mode 0440) when the pod sets no fsGroup. */
export const SIDECAR_UID = 1000;

export interface EnvVar {
  name: string;
  value?: string;
  [key: string]: unknown;
}

/** Settings as a user gives them: every field optional. */
export interface DevSettingsInput {
  /** The container to develop in; default from the default-container annotation or the only container. */
  container?: string;
  image?: string;
  command?: readonly string[];
  workdir?: string;
  keepSecurityContext?: boolean;
  /** Rename the dev container (the seed's behaviour); default keeps its name. */
  renameContainer?: string;
  sidecarImage?: string;
  /** Environment variables set (or replaced by name) in the dev container. */
  env?: readonly EnvVar[];
  /** Replaces the dev container's resources. */
  resources?: Record<string, unknown>;
  /** CPU and memory of the dev container (`--cpu`, `--memory`), set over its resources. */
  cpu?: RequestAndLimit;
  memory?: RequestAndLimit;
  /** Paths of the dev container kept on the workload's PersistentVolumeClaim (the work dir too, when listed). */
  persist?: readonly string[];
}

/** Settings after defaults, as recorded on the workload. */
export interface DevSettings {
  container: string;
  devContainer: string;
  image: string;
  command: string[];
  workdir: string;
  keepSecurityContext: boolean;
  sidecarImage: string;
  env?: EnvVar[];
  resources?: Record<string, unknown>;
  cpu?: RequestAndLimit;
  memory?: RequestAndLimit;
  persist?: string[];
}

/** Checks the shape of settings; collects every problem before failing. */
export function validateSettings(input: DevSettingsInput): void {
  const problems: string[] = [];
  if (input.workdir !== undefined && !input.workdir.startsWith('/')) problems.push(`workdir "${input.workdir}" must be an absolute path`);
  if (input.command !== undefined && input.command.length === 0) problems.push('command must not be empty');
  if (input.image !== undefined && input.image.trim() === '') problems.push('image must not be empty');
  if (input.renameContainer !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(input.renameContainer)) {
    problems.push(`container name "${input.renameContainer}" is not a valid DNS-1123 label`);
  }
  for (const env of input.env ?? []) {
    if (!isPlainObject(env) || typeof env.name !== 'string' || env.name === '') problems.push('every env entry needs a name');
  }
  if (input.resources !== undefined && !isPlainObject(input.resources)) problems.push('resources must be a mapping');
  for (const name of ['cpu', 'memory'] as const) {
    const given = input[name];
    if (given === undefined) continue;
    const request = quantityValue(String(given.request));
    const limit = quantityValue(String(given.limit));
    if (request === undefined || limit === undefined || request <= 0 || request > limit) problems.push(`${name} needs a request and a limit that are quantities above zero, the request not above the limit`);
  }
  if (input.persist !== undefined) problems.push(...persistProblems(Array.isArray(input.persist) ? input.persist : [input.persist]));
  if (problems.length > 0) {
    throw new DevError('INVALID_OPTION', problems.join('; '), 'fix the options (flags or dev config file) and run again.');
  }
}
