// Checks up front that the user may do every step, so that a missing permission stops the
// command before anything changes (instead of halfway through).

import { DevError } from '../core/errors.ts';
import type { WorkloadKind } from '../core/kinds.ts';
import type { Permission } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';

function describe(p: Permission): string {
  return `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.group ? ` (API group ${p.group})` : ''}`;
}

/** What start and end do to a workload of this kind. */
export function permissionsFor(kind: WorkloadKind, namespace: string): Permission[] {
  const p = (verb: string, group: string, resource: string): Permission => ({ verb, group, resource, namespace });
  const needed: Permission[] = [
    p('get', kind.group, kind.resource),
    p('patch', kind.group, kind.resource),
    p('create', '', 'secrets'),
    p('delete', '', 'secrets'),
    p('list', '', 'pods'),
  ];
  if (kind.strategy === 'pause-and-deployment') needed.push(p('create', 'apps', 'deployments'), p('delete', 'apps', 'deployments'));
  if (kind.strategy === 'job' || kind.strategy === 'suspend-and-job') needed.push(p('create', 'batch', 'jobs'), p('delete', 'batch', 'jobs'));
  if (kind.strategy === 'recreate') needed.push(p('create', '', 'pods'), p('delete', '', 'pods'), p('create', '', 'configmaps'), p('delete', '', 'configmaps'));
  if (kind.hasReplicas) needed.push(p('list', 'autoscaling', 'horizontalpodautoscalers'));
  return needed;
}

export async function requirePermissions(kind: WorkloadKind, namespace: string, action: string, deps: LiveDeps): Promise<void> {
  const missing = await deps.api.missingPermissions(permissionsFor(kind, namespace));
  if (missing.length > 0) {
    throw new DevError('FORBIDDEN', `forbidden: to ${action} you need permission to ${missing.map(describe).join(', ')} in namespace ${namespace}; nothing was changed`,
      `ask a cluster admin for a Role with these verbs (check with: kubectl auth can-i ${missing[0]!.verb} ${missing[0]!.resource} -n ${namespace}).`);
  }
}
