// The dev-settings flags shared by `start` and `render`, and their layer for the dev-config merge (src/config/resolve.ts).

import type { Options } from 'yargs';
import type { OptionsOf } from './command.ts';
import { DevError } from '../core/errors.ts';
import type { Layer } from '../config/resolve.ts';
import type { EnvVar } from '../core/settings.ts';

export const SETTINGS_OPTIONS = {
  container: { alias: 'c', type: 'string', describe: 'Container to develop in (default: the default-container annotation, else the only container)' },
  image: { type: 'string', describe: 'Dev image for the container (default: keep its image)' },
  workdir: { type: 'string', describe: 'Where the synced source appears in the container (default: /workspace)' },
  command: { type: 'string', describe: 'PID 1 of the dev container, run with /bin/sh -c (default: tail -f /dev/null)' },
  'keep-security-context': { type: 'boolean', describe: "Keep all of the container's securityContext (default: keep what Pod Security checks; drop readOnlyRootFilesystem, and runAsUser/runAsGroup unless the pod must run as non-root)" },
  'rename-container': { type: 'string', describe: 'Rename the dev container (default: keep its name)' },
  'sidecar-image': { type: 'string', describe: 'Syncthing image of the sync sidecar' },
  env: { type: 'string', array: true, describe: 'NAME=VALUE set in the dev container (repeatable)' },
  // A flag only, never a dev config setting: a file in a cloned repository must not lift this guard.
  force: { type: 'boolean', describe: 'Also take over a DaemonSet that nodes may need (in kube-system, or with a system-node-critical or system-cluster-critical priority class)' },
} as const satisfies Record<string, Options>;

export type SettingsArgs = OptionsOf<typeof SETTINGS_OPTIONS>;

function parseEnv(pairs: readonly string[]): EnvVar[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new DevError('INVALID_OPTION', `--env "${pair}" is not NAME=VALUE`, 'write each variable as --env NAME=VALUE.');
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

/** Flags → the flag layer's settings; only flags that were given appear, so a config file can fill the rest. */
export function settingsFromArgs(args: SettingsArgs): Layer {
  const settings: Layer = {};
  if (args.container !== undefined) settings.container = args.container;
  if (args.image !== undefined) settings.image = args.image;
  if (args.workdir !== undefined) settings.workdir = args.workdir;
  if (args.command !== undefined) settings.command = ['/bin/sh', '-c', args.command];
  if (args['keep-security-context'] !== undefined) settings.keepSecurityContext = args['keep-security-context'];
  if (args['rename-container'] !== undefined) settings.renameContainer = args['rename-container'];
  if (args['sidecar-image'] !== undefined) settings.sidecarImage = args['sidecar-image'];
  if (args.env !== undefined) settings.env = parseEnv(args.env.map(String));
  return settings;
}
