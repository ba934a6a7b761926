// kubectl's cluster flags, shared by every command that talks to a cluster. Light on purpose:
// loading the kubeconfig (client-node) is in kube-target.ts, imported when a command runs.

import type { Argv } from 'yargs';

export interface KubeArgs {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  'request-timeout'?: string;
}

export function withKubeFlags<T>(yargs: Argv<T>): Argv<T & KubeArgs> {
  return yargs
    .option('namespace', { alias: 'n', type: 'string', describe: 'Namespace (default: the context\'s)' })
    .option('kubeconfig', { type: 'string', describe: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' })
    .option('context', { type: 'string', describe: 'The kubeconfig context to use' })
    .option('cluster', { type: 'string', describe: 'The kubeconfig cluster to use' })
    .option('user', { type: 'string', describe: 'The kubeconfig user to use' })
    .option('request-timeout', { type: 'string', describe: 'Time to wait for one API request (e.g. 30s; 0: no limit)' }) as Argv<T & KubeArgs>;
}

export { parseDuration as parseTimeout } from '../core/duration.ts';
