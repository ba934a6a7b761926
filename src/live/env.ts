// `kubectl dev env`: the dev container's environment as its kubelet resolved it, read from the dev
// pod and the ConfigMaps, Secrets (only when asked) and node it names; core/env.ts resolves.

import { resolveEnv, type ResolvedEnv } from '../core/env.ts';
import { mountedFiles, type MountedFilesResult, type SourceObject } from '../core/mounted-files.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import { isPlainObject, type KubeObject, type PlainObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { devPodFor } from './exec.ts';

export interface EnvRequest {
  ref: WorkloadRef & { namespace: string };
  withSecrets: boolean;
}

export interface DevContainerEnv {
  pod: string;
  container: string;
  env: ResolvedEnv;
}

function containerOf(pod: KubeObject, name: string): PlainObject {
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  return [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])].filter(isPlainObject).find((c) => c.name === name) ?? {};
}

/** The objects of one kind that exist, by name, each mapped to what the resolver reads of it. */
async function readObjects<T>(api: ClusterApi, namespace: string, kind: 'ConfigMap' | 'Secret', names: Set<string>, map: (obj: KubeObject) => T): Promise<Record<string, T>> {
  const found = await Promise.all([...names].map(async (name) => [name, await api.get({ apiVersion: 'v1', kind, name, namespace })] as const));
  return Object.fromEntries(found.filter(([, obj]) => obj !== undefined).map(([name, obj]) => [name, map(obj as KubeObject)]));
}

/** Names of the ConfigMaps and Secrets a container's env and envFrom read. */
function referencedObjects(pod: KubeObject, container: string): { configMaps: Set<string>; secrets: Set<string> } {
  const c = containerOf(pod, container);
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const from of Array.isArray(c.envFrom) ? c.envFrom.filter(isPlainObject) : []) {
    if (isPlainObject(from.configMapRef)) configMaps.add(String(from.configMapRef.name));
    if (isPlainObject(from.secretRef)) secrets.add(String(from.secretRef.name));
  }
  for (const e of Array.isArray(c.env) ? c.env.filter(isPlainObject) : []) {
    const vf = isPlainObject(e.valueFrom) ? e.valueFrom : {};
    if (isPlainObject(vf.configMapKeyRef)) configMaps.add(String(vf.configMapKeyRef.name));
    if (isPlainObject(vf.secretKeyRef)) secrets.add(String(vf.secretKeyRef.name));
  }
  return { configMaps, secrets };
}

const entries = (data: unknown): [string, string][] => Object.entries(isPlainObject(data) ? data : {}).map(([k, v]) => [k, String(v)]);
const secretValues = (obj: KubeObject) => Object.fromEntries(entries(obj.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const configMapValues = (obj: KubeObject) => Object.fromEntries(entries(obj.data));

type FoundDevPod = Awaited<ReturnType<typeof devPodFor>>;

/** The dev container's environment and, when asked, its mounted files: the dev pod looked up once for both. */
export async function devContainerView(request: EnvRequest, api: ClusterApi, withFiles: boolean): Promise<DevContainerEnv & { files?: MountedFilesResult }> {
  const found = await devPodFor(request.ref, api);
  const [env, files] = await Promise.all([envOf(found, request, api), withFiles ? filesOf(found, request, api) : Promise.resolve(undefined)]);
  return { pod: found.pod, container: found.container, env, ...(files ? { files } : {}) };
}

/** Reads what the dev container's environment is made of and resolves it. */
async function envOf({ container, object }: FoundDevPod, request: EnvRequest, api: ClusterApi): Promise<ResolvedEnv> {
  const { configMaps, secrets } = referencedObjects(object, container);
  const namespace = request.ref.namespace;
  const nodeName = isPlainObject(object.spec) && typeof object.spec.nodeName === 'string' ? object.spec.nodeName : undefined;
  const [configMapData, secretData, node] = await Promise.all([
    readObjects(api, namespace, 'ConfigMap', configMaps, configMapValues),
    request.withSecrets ? readObjects(api, namespace, 'Secret', secrets, secretValues) : Promise.resolve({}),
    // A user who may not read nodes still gets everything but limits left unset.
    nodeName ? api.get({ apiVersion: 'v1', kind: 'Node', name: nodeName }).catch(() => undefined) : Promise.resolve(undefined),
  ]);
  const allocatable = isPlainObject(node?.status) && isPlainObject(node.status.allocatable) ? Object.fromEntries(Object.entries(node.status.allocatable).map(([k, v]) => [k, String(v)])) : undefined;
  return resolveEnv({ pod: object, container, configMaps: configMapData, secrets: secretData, withSecrets: request.withSecrets, ...(allocatable ? { nodeAllocatable: allocatable } : {}) });
}

/** Names of the ConfigMaps and Secrets the container's volume mounts read. */
function mountedObjects(pod: KubeObject, container: string): { configMaps: Set<string>; secrets: Set<string> } {
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  const c = containerOf(pod, container);
  const mounted = new Set((Array.isArray(c.volumeMounts) ? c.volumeMounts.filter(isPlainObject) : []).map((m) => String(m.name)));
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of Array.isArray(spec.volumes) ? spec.volumes.filter(isPlainObject) : []) {
    if (!mounted.has(String(v.name))) continue;
    if (isPlainObject(v.configMap)) configMaps.add(String(v.configMap.name));
    if (isPlainObject(v.secret)) secrets.add(String(v.secret.secretName));
    for (const s of isPlainObject(v.projected) && Array.isArray(v.projected.sources) ? v.projected.sources.filter(isPlainObject) : []) {
      if (isPlainObject(s.configMap)) configMaps.add(String(s.configMap.name));
      if (isPlainObject(s.secret)) secrets.add(String(s.secret.name));
    }
  }
  return { configMaps, secrets };
}

const fileBytes = (kind: 'ConfigMap' | 'Secret') => (obj: KubeObject): SourceObject => ({
  files: Object.fromEntries([
    ...entries(obj.data).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v)] as const),
    ...entries(obj.binaryData).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const),
  ]),
});

/** The dev container's ConfigMap and Secret files (Secret ones only when asked). */
async function filesOf({ container, object }: FoundDevPod, request: EnvRequest, api: ClusterApi): Promise<MountedFilesResult> {
  const { configMaps, secrets } = mountedObjects(object, container);
  const namespace = request.ref.namespace;
  const [configMapFiles, secretFiles] = await Promise.all([
    readObjects(api, namespace, 'ConfigMap', configMaps, fileBytes('ConfigMap')),
    request.withSecrets ? readObjects(api, namespace, 'Secret', secrets, fileBytes('Secret')) : Promise.resolve({}),
  ]);
  return mountedFiles({ pod: object, container, configMaps: configMapFiles, secrets: secretFiles, withSecrets: request.withSecrets });
}
