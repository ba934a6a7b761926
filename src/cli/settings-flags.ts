// The dev-settings flags shared by `start` and `render`, each with the dev-config field it sets (src/config/resolve.ts).

import { DevError } from '../core/errors.ts';
import { parseRequestAndLimit } from '../core/resources.ts';
import type { EnvVar } from '../core/settings.ts';
import type { OptionSpec, OptionsOf } from './command.ts';

function parseEnv(pairs: readonly string[]): EnvVar[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new DevError('INVALID_OPTION', `--env "${pair}" is not NAME=VALUE`, 'write each variable as --env NAME=VALUE.');
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

export const SETTINGS_OPTIONS = {
  container: { alias: 'c', type: 'string', describe: 'Container to develop in (default: the default-container annotation, else the only container)', field: 'container' },
  image: { type: 'string', describe: 'Dev image for the container (default: keep its image)', field: 'image' },
  workdir: { type: 'string', describe: 'Where the synced source appears in the container (default: /workspace)', field: 'workdir' },
  command: { type: 'string', describe: 'PID 1 of the dev container, run with /bin/sh -c (default: tail -f /dev/null)', field: 'command', asField: (line: string) => ['/bin/sh', '-c', line] },
  'keep-security-context': { type: 'boolean', describe: "Keep all of the container's securityContext (default: keep what Pod Security checks; drop readOnlyRootFilesystem, and runAsUser/runAsGroup unless the pod must run as non-root)", field: 'keepSecurityContext' },
  'rename-container': { type: 'string', describe: 'Rename the dev container (default: keep its name)', field: 'renameContainer' },
  'sidecar-image': { type: 'string', describe: 'Syncthing image of the sync sidecar', field: 'sidecarImage' },
  env: { type: 'string', array: true, describe: 'NAME=VALUE set in the dev container (repeatable)', field: 'env', asField: (pairs: string[]) => parseEnv(pairs.map(String)) },
  cpu: { type: 'string', describe: 'CPU of the dev container: QUANTITY (request and limit) or REQUEST:LIMIT, e.g. 2 or 500m:2', field: 'cpu', asField: (text: string) => parseRequestAndLimit('cpu', String(text)) },
  memory: { type: 'string', describe: 'Memory of the dev container: QUANTITY (request and limit) or REQUEST:LIMIT, e.g. 2Gi or 1Gi:4Gi', field: 'memory', asField: (text: string) => parseRequestAndLimit('memory', String(text)) },
  // A flag only, never a dev config setting: a file in a cloned repository must not lift this guard.
  force: { type: 'boolean', describe: 'Also take over a DaemonSet that nodes may need (in kube-system, or with a system-node-critical or system-cluster-critical priority class)' },
} as const satisfies Record<string, OptionSpec>;

export type SettingsArgs = OptionsOf<typeof SETTINGS_OPTIONS>;
