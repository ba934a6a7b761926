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

/** The target for Complete: read from the kubeconfig (no network); a kubeconfig that cannot be read is kept, to report after Validate's problems. */
export type CompletedTarget = { target: KubeTarget; namespace: string } | { error: unknown; namespace: string | undefined };

export function completeTarget(args: KubeArgs, io: CliIO): CompletedTarget {
  try {
    const target = kubeTargetFromArgs(args, io);
    return { target, namespace: target.namespace };
  } catch (error) {
    return { error, namespace: args.namespace };
  }
}

/** The target once Validate passed: the kubeconfig's error now, if it had one. */
export function targetOf(completed: CompletedTarget): KubeTarget {
  if ('error' in completed) throw completed.error;
  return completed.target;
}
