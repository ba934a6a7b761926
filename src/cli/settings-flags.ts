// The dev-settings flags shared by `start` and `render`, and their translation to core settings.

import type { Argv } from 'yargs';
import { DevError } from '../core/errors.ts';
import type { DevSettingsInput, EnvVar } from '../core/settings.ts';

export interface SettingsArgs {
  container?: string;
  image?: string;
  workdir?: string;
  command?: string;
  'keep-security-context'?: boolean;
  'rename-container'?: string;
  'sidecar-image'?: string;
  env?: string[];
  force?: boolean;
}

export function withSettingsFlags<T>(yargs: Argv<T>): Argv<T & SettingsArgs> {
  return yargs
    .option('container', { alias: 'c', type: 'string', describe: 'Container to develop in (default: the default-container annotation, else the only container)' })
    .option('image', { type: 'string', describe: 'Dev image for the container (default: keep its image)' })
    .option('workdir', { type: 'string', describe: 'Where the synced source appears in the container (default: /workspace)' })
    .option('command', { type: 'string', describe: 'PID 1 of the dev container, run with /bin/sh -c (default: tail -f /dev/null)' })
    .option('keep-security-context', { type: 'boolean', describe: "Keep all of the container's securityContext (default: keep what Pod Security checks; drop readOnlyRootFilesystem, and runAsUser/runAsGroup unless the pod must run as non-root)" })
    .option('rename-container', { type: 'string', describe: 'Rename the dev container (default: keep its name)' })
    .option('sidecar-image', { type: 'string', describe: 'Syncthing image of the sync sidecar' })
    .option('env', { type: 'string', array: true, describe: 'NAME=VALUE set in the dev container (repeatable)' })
    // A flag only, never a dev config setting: a file in a cloned repository must not lift this guard.
    .option('force', { type: 'boolean', describe: 'Also take over a DaemonSet that nodes may need (in kube-system, or with a system-node-critical or system-cluster-critical priority class)' }) as Argv<T & SettingsArgs>;
}

function parseEnv(pairs: readonly string[]): EnvVar[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new DevError('INVALID_OPTION', `--env "${pair}" is not NAME=VALUE`, 'write each variable as --env NAME=VALUE.');
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

/** Flags → settings; only flags that were given appear, so a config file can fill the rest. */
export function settingsFromArgs(args: SettingsArgs): DevSettingsInput {
  const settings: DevSettingsInput = {};
  if (args.container !== undefined) settings.container = args.container;
  if (args.image !== undefined) settings.image = args.image;
  if (args.workdir !== undefined) settings.workdir = args.workdir;
  if (args.command !== undefined) settings.command = ['/bin/sh', '-c', args.command];
  if (args['keep-security-context'] !== undefined) settings.keepSecurityContext = args['keep-security-context'];
  if (args['rename-container'] !== undefined) settings.renameContainer = args['rename-container'];
  if (args['sidecar-image'] !== undefined) settings.sidecarImage = args['sidecar-image'];
  if (args.env !== undefined) settings.env = parseEnv(args.env);
  return settings;
}
