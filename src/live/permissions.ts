// Checks up front that the user may do every step, so that a missing permission stops the
// command before anything changes (instead of halfway through).

import { DevError } from '../core/errors.ts';
import { duplicateKindOf, WORKLOAD_KINDS, type WorkloadKind } from '../core/kinds.ts';
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

/** What duplicate mode does: read the original, create (and at end delete) its copy and the copy's Secret. */
export function duplicatePermissionsFor(kind: WorkloadKind, namespace: string): Permission[] {
  const copy = duplicateKindOf(kind);
  const p = (verb: string, group: string, resource: string): Permission => ({ verb, group, resource, namespace });
  return [
    p('get', kind.group, kind.resource),
    p('get', copy.group, copy.resource), p('create', copy.group, copy.resource), p('delete', copy.group, copy.resource),
    p('create', '', 'secrets'), p('delete', '', 'secrets'), p('list', '', 'pods'),
  ];
}

type Verb = Pick<Permission, 'verb' | 'group' | 'resource' | 'subresource'>;

/** What a workload of this kind needs in all: start and end, and reading it (status, completion). */
export function kindNeeds(kind: WorkloadKind): Verb[] {
  return [{ verb: 'list', group: kind.group, resource: kind.resource }, ...permissionsFor(kind, '').map(({ namespace: _n, ...verb }) => verb)];
}

/** What every workload, whatever its kind, and each feature needs beyond what start and end check. */
const FEATURES: ReadonlyArray<{ for: string; needs: readonly Verb[] }> = [
  { for: 'all', needs: (['get', 'list', 'create', 'delete'] as const).flatMap((verb) => [{ verb, group: '', resource: 'pods' }, { verb, group: '', resource: 'secrets' }]) },
  { for: 'workloads whose saved original exceeds an annotation', needs: [{ verb: 'create', group: '', resource: 'configmaps' }, { verb: 'delete', group: '', resource: 'configmaps' }] },
  { for: 'duplicate mode (--duplicate)', needs: [...new Set(WORKLOAD_KINDS.map((k) => duplicateKindOf(k)))].flatMap((copy) => (['create', 'delete'] as const).map((verb) => ({ verb, group: copy.group, resource: copy.resource }))) },
  { for: 'exec', needs: [{ verb: 'create', group: '', resource: 'pods', subresource: 'exec' }] },
  { for: 'sync (port-forward to the sidecar)', needs: [{ verb: 'create', group: '', resource: 'pods', subresource: 'portforward' }] },
  { for: 'persisted paths (--persist, volumes)', needs: (['get', 'list', 'create', 'delete'] as const).map((verb) => ({ verb, group: '', resource: 'persistentvolumeclaims' })) },
  { for: 'workloads with a HorizontalPodAutoscaler', needs: [{ verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers' }, { verb: 'patch', group: 'autoscaling', resource: 'horizontalpodautoscalers' }] },
];

/** One permission kubectl-dev uses; `for` says what needs it ('all': every workload kind). */
export interface UsedPermission extends Verb {
  for: string;
}

const keyOf = (p: Verb) => `${p.verb} ${p.group}/${p.resource}/${p.subresource ?? ''}`;

/** Every verb kubectl-dev sends, once each, with the kinds and features that need it (doctor checks them all). */
export function everyPermission(): UsedPermission[] {
  const users = new Map<string, { verb: Verb; kinds: string[]; features: string[] }>();
  const use = (verb: Verb) => {
    const key = keyOf(verb);
    if (!users.has(key)) users.set(key, { verb, kinds: [], features: [] });
    return users.get(key)!;
  };
  for (const kind of WORKLOAD_KINDS) for (const verb of kindNeeds(kind)) use(verb).kinds.push(kind.kind);
  for (const feature of FEATURES) for (const verb of feature.needs) use(verb).features.push(feature.for);
  return [...users.values()].map(({ verb, kinds, features }) => {
    const every = features.includes('all') || kinds.length === WORKLOAD_KINDS.length;
    const what = every ? 'all' : [...(kinds.length > 0 ? [kinds.join(', ')] : []), ...features].join('; ');
    return { ...verb, for: what };
  });
}

/** Whether any workload kind has everything it needs, given what is missing. */
export function someKindUsable(missing: readonly Verb[]): boolean {
  const lacking = new Set(missing.map(keyOf));
  return WORKLOAD_KINDS.some((kind) => kindNeeds(kind).every((verb) => !lacking.has(keyOf(verb))));
}

/** What persisted paths need beyond the kind's permissions (start creates the claim; end --delete-volumes and volumes rm delete it). */
export function volumePermissions(namespace: string, verbs: readonly string[]): Permission[] {
  return verbs.map((verb) => ({ verb, group: '', resource: 'persistentvolumeclaims', namespace }));
}

/** The reads' result once the permission check also passed: a missing permission is the error reported, whichever failed first. */
export async function afterPermissionCheck<T>(check: Promise<void> | undefined, reads: Promise<T>): Promise<T> {
  const [checked, read] = await Promise.allSettled([check, reads]);
  if (checked.status === 'rejected') throw checked.reason;
  if (read.status === 'rejected') throw read.reason;
  return read.value;
}

export async function requireDuplicatePermissions(kind: WorkloadKind, namespace: string, action: string, deps: LiveDeps, extra: readonly Permission[] = []): Promise<void> {
  return requireThese([...duplicatePermissionsFor(kind, namespace), ...extra], namespace, action, deps);
}

export async function requirePermissions(kind: WorkloadKind, namespace: string, action: string, deps: LiveDeps, extra: readonly Permission[] = []): Promise<void> {
  return requireThese([...permissionsFor(kind, namespace), ...extra], namespace, action, deps);
}

async function requireThese(needed: Permission[], namespace: string, action: string, deps: LiveDeps): Promise<void> {
  const missing = await deps.api.missingPermissions(needed);
  if (missing.length > 0) {
    throw new DevError('FORBIDDEN', `forbidden: to ${action} you need permission to ${missing.map(describe).join(', ')} in namespace ${namespace}; nothing was changed`,
      `ask a cluster admin for a Role with these verbs (check with: kubectl auth can-i ${missing[0]!.verb} ${missing[0]!.resource} -n ${namespace}).`);
  }
}
