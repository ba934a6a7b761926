// The cluster a command talks to, from kubectl's flags (see kube-flags.ts). Loads
// client-node: import it inside a handler (`await import`), not at the top of a command.

import { loadKubeTarget, type KubeTarget } from '../kube/config.ts';
import type { CliIO } from './io.ts';
import type { KubeArgs } from './kube-flags.ts';

export function kubeTargetFromArgs(args: KubeArgs, io: CliIO): KubeTarget {
  const flags: Parameters<typeof loadKubeTarget>[0] = {};
  if (args.kubeconfig !== undefined) flags.kubeconfig = args.kubeconfig;
  if (args.context !== undefined) flags.context = args.context;
  if (args.cluster !== undefined) flags.cluster = args.cluster;
  if (args.user !== undefined) flags.user = args.user;
  if (args.namespace !== undefined) flags.namespace = args.namespace;
  if (args['request-timeout'] !== undefined) flags.requestTimeout = args['request-timeout'];
  return loadKubeTarget(flags, io.env);
}
