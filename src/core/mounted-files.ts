// The files a container sees from its ConfigMap, Secret and projected volumes, as the kubelet
// lays them out (items and their paths, subPath mounts, optional sources), for `env --files`.
// Pure: the objects come in, file paths (as mounted in the container) and contents go out.

import { isPlainObject, type KubeObject, type PlainObject } from './objects.ts';

export interface SourceObject {
  /** `data` as strings and `binaryData` (ConfigMaps) or decoded `data` (Secrets), as bytes. */
  files: Readonly<Record<string, Uint8Array>>;
}

export interface MountedFile {
  /** Absolute path in the container. */
  path: string;
  content: Uint8Array;
  /** From a Secret: written owner-only, and only with --secrets. */
  secret: boolean;
}

export interface MountedFilesInput {
  pod: KubeObject;
  container: string;
  configMaps: Readonly<Record<string, SourceObject>>;
  secrets: Readonly<Record<string, SourceObject>>;
  withSecrets: boolean;
}

export interface MountedFilesResult {
  files: MountedFile[];
  /** Mount paths of Secret files left out (no --secrets). */
  withheld: string[];
  /** Required sources or keys that do not exist. */
  problems: string[];
}

interface Source {
  kind: 'configMap' | 'secret';
  name: string;
  items?: PlainObject[];
  optional: boolean;
}

function sourcesOf(volume: PlainObject): Source[] {
  const one = (kind: Source['kind'], ref: PlainObject, nameKey: string): Source => ({
    kind, name: String(ref[nameKey]), optional: ref.optional === true, ...(Array.isArray(ref.items) ? { items: ref.items.filter(isPlainObject) } : {}),
  });
  if (isPlainObject(volume.configMap)) return [one('configMap', volume.configMap, 'name')];
  if (isPlainObject(volume.secret)) return [one('secret', volume.secret, 'secretName')];
  if (isPlainObject(volume.projected) && Array.isArray(volume.projected.sources)) {
    return volume.projected.sources.filter(isPlainObject).flatMap((s) =>
      isPlainObject(s.configMap) ? [one('configMap', s.configMap, 'name')] : isPlainObject(s.secret) ? [one('secret', s.secret, 'name')] : []);
  }
  return [];
}

/** The files of one volume, by their path inside it. */
function volumeFiles(sources: Source[], input: MountedFilesInput, problems: string[]): Map<string, { content: Uint8Array; secret: boolean }> {
  const out = new Map<string, { content: Uint8Array; secret: boolean }>();
  for (const source of sources) {
    const object = (source.kind === 'configMap' ? input.configMaps : input.secrets)[source.name];
    const label = `${source.kind === 'configMap' ? 'ConfigMap' : 'Secret'} ${source.name}`;
    if (object === undefined) {
      if (!source.optional) problems.push(`${label} not found`);
      continue;
    }
    const items = source.items ?? Object.keys(object.files).map((key) => ({ key, path: key }));
    for (const item of items) {
      const content = object.files[String(item.key)];
      if (content === undefined) {
        if (!source.optional) problems.push(`${label} has no key ${String(item.key)}`);
        continue;
      }
      out.set(String(item.path), { content, secret: source.kind === 'secret' });
    }
  }
  return out;
}

const join = (mountPath: string, rel: string) => `${mountPath.replace(/\/+$/, '')}/${rel}`;

/** The container's ConfigMap and Secret files (Secret ones only with `withSecrets`). */
export function mountedFiles(input: MountedFilesInput): MountedFilesResult {
  const spec = isPlainObject(input.pod.spec) ? input.pod.spec : {};
  const containers = [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])];
  const container = containers.filter(isPlainObject).find((c) => c.name === input.container);
  const volumes = new Map((Array.isArray(spec.volumes) ? spec.volumes.filter(isPlainObject) : []).map((v) => [String(v.name), v]));
  const result: MountedFilesResult = { files: [], withheld: [], problems: [] };
  if (!container) return { ...result, problems: [`the pod has no container named ${input.container}`] };
  for (const mount of Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isPlainObject) : []) {
    const volume = volumes.get(String(mount.name));
    const sources = volume ? sourcesOf(volume) : [];
    if (sources.length === 0) continue;
    const mountPath = String(mount.mountPath);
    // Secrets are not read without --secrets: what they would put here is named, not listed.
    const readable = input.withSecrets ? sources : sources.filter((s) => s.kind !== 'secret');
    for (const s of sources.filter((x) => !readable.includes(x))) {
      result.withheld.push(...(s.items ? s.items.map((i) => join(mountPath, String(i.path))) : [`${mountPath.replace(/\/+$/, '')} (Secret ${s.name})`]));
    }
    const files = volumeFiles(readable, input, result.problems);
    const subPath = typeof mount.subPath === 'string' && mount.subPath !== '' ? mount.subPath.replace(/\/+$/, '') : undefined;
    for (const [rel, file] of files) {
      let path: string;
      if (subPath === undefined) path = join(mountPath, rel);
      else if (rel === subPath) path = mountPath;
      else if (rel.startsWith(`${subPath}/`)) path = join(mountPath, rel.slice(subPath.length + 1));
      else continue;
      if (file.secret && !input.withSecrets) result.withheld.push(path);
      else result.files.push({ path, content: file.content, secret: file.secret });
    }
  }
  return result;
}
