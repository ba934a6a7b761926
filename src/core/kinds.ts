// The one table that knows the workload kinds: their API group, the names kubectl
// accepts for them, where each keeps its pod template, and how dev mode takes it over.
// Nothing else in the project switches on `kind`.

import { DevError } from './errors.ts';
import { getPath, isPlainObject, type KubeObject, type PlainObject } from './objects.ts';

/**
 * How dev mode takes over a kind:
 * - `in-place`: the workload itself runs the dev pod (replicas → 1 when it has replicas).
 * - `pause-and-deployment`: the workload's pods are stopped and a generated Deployment runs the dev pod.
 * - `job`: the workload is left alone and a generated Job runs the dev pod.
 * - `suspend-and-job`: the workload stops scheduling and a generated Job runs the dev pod.
 * - `recreate`: the object is itself a pod; live mode deletes and recreates it.
 */
export type DevStrategy = 'in-place' | 'pause-and-deployment' | 'job' | 'suspend-and-job' | 'recreate';

export interface WorkloadKind {
  kind: string;
  /** API group ('' for core). */
  group: string;
  /** The version live mode reads and writes. */
  version: string;
  /** Plural resource name, as in the REST path. */
  resource: string;
  /** Every name kubectl accepts for the kind on the command line, lower case. */
  aliases: readonly string[];
  /** Path from the object to its pod metadata and pod spec. */
  podMetadataPath: readonly string[];
  podSpecPath: readonly string[];
  /** Whether `spec.replicas` exists and dev mode sets it to 1. */
  hasReplicas: boolean;
  strategy: DevStrategy;
  /** The object dev mode generates to run the dev pod, for the strategies that generate one. */
  generates?: { apiVersion: string; kind: string };
  /** As the creator of a dev pod: how a pod is known to be of its current template (undefined: never a creator). */
  currentPod?: 'self' | 'controller' | 'current-replicaset' | 'current-revision';
  /** What start adds (Secret, ConfigMap) is owned by the workload; not where its lifetime is shorter than dev mode's (a Job's TTL, a Pod's replacement). */
  ownsDevObjects: boolean;
  /** An OnDelete update strategy keeps pods across a template change: start and end delete them. */
  onDeleteUpdates: boolean;
  /** The API server adds an immutable selector and template labels on create, which a restore keeps. */
  serverGeneratedSelector: boolean;
  /** Longest name of an object of the kind (a Job's name becomes a label value of its pods). */
  maxNameLength: number;
  /** Fields of `spec` that name other objects of the same namespace (kustomize renames them). */
  nameReferences: readonly { field: string; kind: string }[];
}

const podTemplate = (...prefix: string[]) => ({
  podMetadataPath: [...prefix, 'template', 'metadata'],
  podSpecPath: [...prefix, 'template', 'spec'],
});

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  {
    kind: 'Deployment', group: 'apps', version: 'v1', resource: 'deployments',
    aliases: ['deployment', 'deployments', 'deploy'],
    ...podTemplate('spec'), hasReplicas: true, strategy: 'in-place',
    currentPod: 'current-replicaset', ownsDevObjects: true, onDeleteUpdates: false, serverGeneratedSelector: false, maxNameLength: 253, nameReferences: [],
  },
  {
    kind: 'StatefulSet', group: 'apps', version: 'v1', resource: 'statefulsets',
    aliases: ['statefulset', 'statefulsets', 'sts'],
    ...podTemplate('spec'), hasReplicas: true, strategy: 'in-place',
    currentPod: 'current-revision', ownsDevObjects: true, onDeleteUpdates: true, serverGeneratedSelector: false, maxNameLength: 253,
    nameReferences: [{ field: 'serviceName', kind: 'Service' }],
  },
  {
    kind: 'DaemonSet', group: 'apps', version: 'v1', resource: 'daemonsets',
    aliases: ['daemonset', 'daemonsets', 'ds'],
    ...podTemplate('spec'), hasReplicas: false, strategy: 'pause-and-deployment',
    generates: { apiVersion: 'apps/v1', kind: 'Deployment' }, ownsDevObjects: true, onDeleteUpdates: false, serverGeneratedSelector: false, maxNameLength: 253, nameReferences: [],
  },
  {
    kind: 'Job', group: 'batch', version: 'v1', resource: 'jobs',
    aliases: ['job', 'jobs'],
    ...podTemplate('spec'), hasReplicas: false, strategy: 'job',
    generates: { apiVersion: 'batch/v1', kind: 'Job' }, currentPod: 'controller',
    ownsDevObjects: false, onDeleteUpdates: false, serverGeneratedSelector: true, maxNameLength: 63, nameReferences: [],
  },
  {
    kind: 'CronJob', group: 'batch', version: 'v1', resource: 'cronjobs',
    aliases: ['cronjob', 'cronjobs', 'cj'],
    ...podTemplate('spec', 'jobTemplate', 'spec'), hasReplicas: false, strategy: 'suspend-and-job',
    generates: { apiVersion: 'batch/v1', kind: 'Job' }, ownsDevObjects: true, onDeleteUpdates: false, serverGeneratedSelector: false, maxNameLength: 52, nameReferences: [],
  },
  {
    kind: 'Pod', group: '', version: 'v1', resource: 'pods',
    aliases: ['pod', 'pods', 'po'],
    podMetadataPath: ['metadata'], podSpecPath: ['spec'], hasReplicas: false, strategy: 'recreate',
    currentPod: 'self', ownsDevObjects: false, onDeleteUpdates: false, serverGeneratedSelector: false, maxNameLength: 253, nameReferences: [],
  },
];

/** Kinds that carry pods but that dev mode does not take over (yet), with what to do instead. */
const UNSUPPORTED_WORKLOADS: Readonly<Record<string, string>> = {
  Rollout: 'Argo Rollouts are not supported yet; put the Deployment or the pods it manages in dev mode instead, or pause the rollout and use a Deployment.',
  ReplicaSet: 'target the Deployment that owns the ReplicaSet instead.',
  ReplicationController: 'migrate it to a Deployment, then target the Deployment.',
  DeploymentConfig: 'target a Deployment instead.',
};

function groupOf(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The table entry for an object, or undefined for kinds that are not workloads. */
export function workloadKindOf(obj: KubeObject): WorkloadKind | undefined {
  const group = groupOf(obj.apiVersion);
  return WORKLOAD_KINDS.find((k) => k.kind === obj.kind && k.group === group);
}

/** The kinds dev mode generates (a DaemonSet's Deployment, a Job's or CronJob's Job), once each. */
export function generatedKinds(): { apiVersion: string; kind: string }[] {
  const out = new Map<string, { apiVersion: string; kind: string }>();
  for (const k of WORKLOAD_KINDS) if (k.generates) out.set(`${k.generates.apiVersion}/${k.generates.kind}`, k.generates);
  return [...out.values()];
}

/** The table entry of what dev mode generates for a kind (undefined for in-place kinds). */
export function generatedKindOf(kind: WorkloadKind): WorkloadKind {
  const generated = kind.generates && WORKLOAD_KINDS.find((k) => k.kind === kind.generates!.kind && `${k.group ? `${k.group}/` : ''}${k.version}` === kind.generates!.apiVersion);
  if (!generated) throw new Error(`unreachable: ${kind.kind} generates nothing in the table`);
  return generated;
}

/** True when the workload object is itself the pod (live mode deletes and recreates it). */
export const isPodKind = (kind: WorkloadKind): boolean => kind.strategy === 'recreate';

/** The table entry for a name typed by a user (`deploy`, `StatefulSet`, `cj`, `deployments.apps`). */
export function workloadKindByName(typed: string): WorkloadKind | undefined {
  const lower = typed.toLowerCase();
  const [base, group] = lower.includes('.') ? [lower.slice(0, lower.indexOf('.')), lower.slice(lower.indexOf('.') + 1)] : [lower, undefined];
  return WORKLOAD_KINDS.find(
    (k) => k.aliases.includes(base ?? '') && (group === undefined || k.group === group),
  );
}

/** True for objects that carry a pod template but are not in the table. */
export function unsupportedWorkloadHint(obj: KubeObject): string | undefined {
  if (workloadKindOf(obj)) return undefined;
  if (typeof obj.kind === 'string' && obj.kind in UNSUPPORTED_WORKLOADS) return UNSUPPORTED_WORKLOADS[obj.kind];
  const template = getPath(obj, ['spec', 'template', 'spec', 'containers']);
  if (Array.isArray(template)) return `kubectl-dev takes over ${WORKLOAD_KINDS.map((k) => k.kind).join(', ')}; target one of those instead.`;
  return undefined;
}

export interface WorkloadRef {
  kind: WorkloadKind;
  name: string;
  namespace?: string;
}

/** Parses `KIND/NAME` as kubectl does (`deploy/web`, `deployment.apps/web`). */
export function parseWorkloadRef(text: string, namespace?: string): WorkloadRef {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1 || text.indexOf('/', slash + 1) >= 0) {
    throw new DevError('INVALID_OPTION', `"${text}" is not of the form KIND/NAME`,
      'write the workload as kubectl does, for example deployment/web, sts/db or cj/nightly.');
  }
  const typedKind = text.slice(0, slash);
  const kind = workloadKindByName(typedKind);
  if (!kind) {
    const known = UNSUPPORTED_WORKLOADS[Object.keys(UNSUPPORTED_WORKLOADS).find((k) => k.toLowerCase() === typedKind.toLowerCase()) ?? ''];
    throw new DevError('UNSUPPORTED_KIND', `"${typedKind}" is not a workload kind kubectl-dev supports`,
      known ?? `use one of: ${WORKLOAD_KINDS.map((k) => k.aliases.join('|')).join(', ')}.`);
  }
  return namespace === undefined ? { kind, name: text.slice(slash + 1) } : { kind, name: text.slice(slash + 1), namespace };
}

export interface PodTemplateParts {
  metadata: PlainObject;
  spec: PlainObject;
}

/**
 * The pod metadata and pod spec of a workload object, as live references into it
 * (so callers may edit a clone in place). Missing metadata is created; a missing
 * spec is an error.
 */
export function podTemplateOf(obj: KubeObject, kind: WorkloadKind): PodTemplateParts {
  const spec = getPath(obj, kind.podSpecPath);
  if (!isPlainObject(spec)) {
    throw new DevError('INVALID_INPUT', `${kind.kind} has no pod spec at ${kind.podSpecPath.join('.')}`,
      'check that the manifest is a complete workload (kubectl get -o yaml gives one).',
      { path: kind.podSpecPath.join('.') });
  }
  const parentPath = kind.podMetadataPath.slice(0, -1);
  const parent = parentPath.length === 0 ? (obj as PlainObject) : getPath(obj, parentPath);
  if (!isPlainObject(parent)) throw new Error('unreachable: pod spec exists but its parent does not');
  const key = kind.podMetadataPath[kind.podMetadataPath.length - 1] as string;
  if (!isPlainObject(parent[key])) parent[key] = {};
  return { metadata: parent[key] as PlainObject, spec };
}
