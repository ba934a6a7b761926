// KWOK helpers: make a pod's port reach a local TCP server, and make exec in a
// pod's container run local commands. Both create the namespaced KWOK objects
// (kwok.x-k8s.io/v1alpha1 PortForward / Exec, named like the pod) that the
// test cluster's KWOK serves (started with --enable-crds=...).
import * as k8s from '@kubernetes/client-node';

const group = 'kwok.x-k8s.io';
const version = 'v1alpha1';

/** How long KWOK's informer needs to see a new object (it reports no status). */
const SETTLE_MS = 300;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

function isNotFound(e: unknown): boolean {
  return (e as { code?: number }).code === 404;
}

export interface ForwardPodPortOptions {
  namespace: string;
  pod: string;
  /** Pod port(s) to forward; omit to forward every port. */
  ports?: number | number[];
  /** Local TCP address the connection is dialled to; host defaults to 127.0.0.1. */
  target: { host?: string; port: number };
}

interface Forward {
  ports?: number[];
  target?: { address: string; port: number };
  command?: string[];
}

/**
 * Port-forwards to `pod` (through the API server: kubectl port-forward,
 * client-node PortForward) now reach `target` on this machine. Several calls
 * for one pod add forwards. Returns a function that removes them again.
 */
export async function forwardPodPort(kc: k8s.KubeConfig, opts: ForwardPodPortOptions): Promise<() => Promise<void>> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const ports = opts.ports === undefined ? undefined : ([] as number[]).concat(opts.ports);
  const forward: Forward = {
    ...(ports ? { ports } : {}),
    target: { address: opts.target.host ?? '127.0.0.1', port: opts.target.port },
  };
  const ref = { group, version, namespace: opts.namespace, plural: 'portforwards', name: opts.pod };
  const same = (f: Forward) => JSON.stringify(f.ports ?? null) === JSON.stringify(forward.ports ?? null);

  await updateOrCreate<Forward>(api, ref, 'PortForward', 'forwards', (list) => [...list.filter((f) => !same(f)), forward]);
  await settle();
  return async () => {
    await updateOrCreate<Forward>(api, ref, 'PortForward', 'forwards', (list) => list.filter((f) => !same(f)), true);
  };
}

export interface ExecLocallyOptions {
  namespace: string;
  pod: string;
  /** Containers this applies to; omit for every container of the pod. */
  containers?: string[];
  /** Working directory of the local command. */
  workDir?: string;
  /** Extra environment of the local command. */
  env?: Record<string, string>;
}

interface ExecTarget {
  containers?: string[];
  local: { workDir?: string; envs?: { name: string; value: string }[] };
}

/**
 * `kubectl exec POD -- CMD...` (and client-node Exec) now run CMD as a local
 * process on this machine, in `workDir` with `env`, streaming stdin/stdout/stderr.
 * Returns a function that removes the rule.
 */
export async function execLocally(kc: k8s.KubeConfig, opts: ExecLocallyOptions): Promise<() => Promise<void>> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const target: ExecTarget = {
    ...(opts.containers ? { containers: opts.containers } : {}),
    local: {
      ...(opts.workDir ? { workDir: opts.workDir } : {}),
      ...(opts.env ? { envs: Object.entries(opts.env).map(([name, value]) => ({ name, value })) } : {}),
    },
  };
  const ref = { group, version, namespace: opts.namespace, plural: 'execs', name: opts.pod };
  const same = (t: ExecTarget) => JSON.stringify(t.containers ?? null) === JSON.stringify(target.containers ?? null);
  await updateOrCreate<ExecTarget>(api, ref, 'Exec', 'execs', (list) => [...list.filter((t) => !same(t)), target]);
  await settle();
  return async () => {
    await updateOrCreate<ExecTarget>(api, ref, 'Exec', 'execs', (list) => list.filter((t) => !same(t)), true);
  };
}

interface Ref {
  group: string;
  version: string;
  namespace: string;
  plural: string;
  name: string;
}

/** Read-modify-write of spec[field] with resourceVersion retries; deletes the object when the list becomes empty. */
async function updateOrCreate<T>(
  api: k8s.CustomObjectsApi,
  ref: Ref,
  kind: string,
  field: string,
  change: (list: T[]) => T[],
  deleteWhenEmpty = false,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let current: any;
    try {
      current = await api.getNamespacedCustomObject(ref);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const list = change(((current?.spec?.[field] as T[] | undefined) ?? []).slice());
    try {
      if (!current) {
        if (list.length === 0) return;
        await api.createNamespacedCustomObject({
          ...ref,
          body: { apiVersion: `${group}/${version}`, kind, metadata: { name: ref.name, namespace: ref.namespace }, spec: { [field]: list } },
        });
      } else if (list.length === 0 && deleteWhenEmpty) {
        await api.deleteNamespacedCustomObject(ref).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      } else {
        await api.replaceNamespacedCustomObject({ ...ref, body: { ...current, spec: { ...current.spec, [field]: list } } });
      }
      return;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if ((code === 409 || code === 404) && attempt < 10) continue;
      throw e;
    }
  }
}
