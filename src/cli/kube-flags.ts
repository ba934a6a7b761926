// kubectl's cluster flags, shared by every command that talks to a cluster. Light on purpose:
// loading the kubeconfig (client-node) is in kube-target.ts, imported when a command runs.

import type { Options } from 'yargs';
import type { OptionsOf } from './command.ts';

export const KUBE_OPTIONS = {
  namespace: { alias: 'n', type: 'string', describe: 'Namespace (default: the context\'s)' },
  kubeconfig: { type: 'string', describe: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' },
  context: { type: 'string', describe: 'The kubeconfig context to use' },
  cluster: { type: 'string', describe: 'The kubeconfig cluster to use' },
  user: { type: 'string', describe: 'The kubeconfig user to use' },
  'request-timeout': { type: 'string', describe: 'Time to wait for one API request (e.g. 30s; 0: no limit)' },
} as const satisfies Record<string, Options>;

export type KubeArgs = OptionsOf<typeof KUBE_OPTIONS>;

/** The cluster flags as given (the namespace apart), for a command that hands over to another on the same cluster. */
export function kubeFlagsOf(args: KubeArgs): Omit<KubeArgs, 'namespace'> {
  const { namespace: _namespace, ...rest } = args;
  return Object.fromEntries(Object.entries(rest).filter(([key, value]) => key in KUBE_OPTIONS && value !== undefined));
}

export { parseDuration as parseTimeout } from '../core/duration.ts';
