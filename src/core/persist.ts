// Persistent dev volumes (`persist: [PATH…]`, `--persist PATH`): one PersistentVolumeClaim per
// workload, mounted at each persisted path of the dev container through a subPath (the path
// itself, so that nested persisted paths see the same directories), and at the work dir of both
// containers when the work dir is listed. Pure: the claim's name comes in as a parameter.

import { DevError } from './errors.ts';
import { GENERATED_FOR_ANNOTATION, PERSIST_VOLUME, VOLUME_INIT_CONTAINER, WORKLOAD_LABEL } from './marks.ts';
import type { KubeObject, PlainObject } from './objects.ts';
import { quantityValue } from './resources.ts';

/** A claim's size when none is given: Okteto's default (DevSpace asks 10Gi); enough for a tree and its package caches. */
export const DEFAULT_PERSIST_SIZE = '5Gi';
/** Where the init container sees the whole claim. */
export const VOLUME_ROOT = '/var/kubectl-dev/volume';

/** Size and StorageClass of a claim start creates (`persistentVolume:` in the dev config, `--persist-size`, `--persist-class`). */
export interface ClaimOptions {
  size?: string;
  /** Absent: the cluster's default StorageClass (the API server's DefaultStorageClass admission fills it in). */
  storageClass?: string;
}

/** `/root/.cache/` → `/root/.cache`: persisted paths are compared without trailing slashes. */
export function normalPath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** The claim directory a path is kept in: the path without its leading slash (`/workspace` → `workspace`). */
export function subPathOf(path: string): string {
  return normalPath(path).replace(/^\/+/, '');
}

/** What is wrong with a list of persisted paths (empty when nothing). */
export function persistProblems(paths: readonly unknown[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const raw of paths) {
    if (typeof raw !== 'string' || !raw.startsWith('/')) {
      problems.push(`persist path ${JSON.stringify(raw)} must be an absolute path in the container`);
      continue;
    }
    const path = normalPath(raw);
    if (path === '/' || path.split('/').some((part) => part === '..' || part === '.') || path.includes('//')) {
      problems.push(`persist path "${raw}" must name a directory below / without ".", ".." or empty parts`);
    } else if (seen.has(path)) problems.push(`persist path "${raw}" is listed twice`);
    seen.add(path);
  }
  return problems;
}

/** Problems of a claim's size and StorageClass. */
export function claimOptionProblems(options: ClaimOptions): string[] {
  const problems: string[] = [];
  if (options.size !== undefined && !((quantityValue(options.size) ?? 0) > 0)) problems.push(`persistent volume size "${options.size}" is not a quantity above zero (e.g. 5Gi)`);
  if (options.storageClass !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(options.storageClass)) {
    problems.push(`StorageClass "${options.storageClass}" is not a valid object name (kubectl get storageclass lists them)`);
  }
  return problems;
}

/** The claim start creates for a workload: labelled with the workload's dev pod label, named back to it, owned by nobody (kept across end and start). */
export function persistentClaim(claimName: string, namespace: string, workload: { ref: string; label: string }, options: ClaimOptions): KubeObject {
  return {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name: claimName, namespace, labels: { [WORKLOAD_LABEL]: workload.label }, annotations: { [GENERATED_FOR_ANNOTATION]: workload.ref } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: options.size ?? DEFAULT_PERSIST_SIZE } },
      ...(options.storageClass !== undefined ? { storageClassName: options.storageClass } : {}),
    },
  };
}

/** True when the work dir is one of the persisted paths (then the synced tree is kept too). */
export function persistsWorkdir(persist: readonly string[] | undefined, workdir: string): boolean {
  return (persist ?? []).some((p) => normalPath(p) === normalPath(workdir));
}

/** The mount of one persisted path. */
export function persistMount(path: string): PlainObject {
  return { name: PERSIST_VOLUME, mountPath: normalPath(path), subPath: subPathOf(path) };
}

const quoted = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * The init container: as root (the owner of a fresh claim's root, 0755 or 0750 on most
 * provisioners), with no capabilities, it makes each persisted directory and opens it to
 * every user (the sidecar is uid 1000, the dev container any user), as the synced tree is.
 * A directory another user made is theirs already: chmod may fail there.
 */
export function volumeInitContainer(persist: readonly string[], image: string): PlainObject {
  const dirs = persist.map((p) => quoted(`${VOLUME_ROOT}/${subPathOf(p)}`)).join(' ');
  return {
    name: VOLUME_INIT_CONTAINER,
    image,
    command: ['/bin/sh', '-c', `for d in ${dirs}; do mkdir -p "$d" || exit 1; chmod 0777 "$d" 2>/dev/null || true; done`],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: {
      runAsUser: 0, runAsGroup: 0, runAsNonRoot: false,
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: PERSIST_VOLUME, mountPath: VOLUME_ROOT }],
  };
}

/** The pod volume of the claim. */
export function persistVolume(claimName: string): PlainObject {
  return { name: PERSIST_VOLUME, persistentVolumeClaim: { claimName } };
}

/** render and `--local` write no claim, and nothing would keep one across installs: persisted paths are for live mode only. */
export function refusePersistOffline(persist: readonly string[] | undefined, where: string): void {
  if (persist === undefined || persist.length === 0) return;
  throw new DevError('INVALID_OPTION', `${where} cannot persist ${persist.join(', ')}: persisted paths need the PersistentVolumeClaim that kubectl dev start creates and keeps`,
    'leave persist out of the dev config used here (or out of its defaults), or put the workload in dev mode with kubectl dev start.');
}
