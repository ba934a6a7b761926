// Cluster access settings the kubectl way: --kubeconfig, KUBECONFIG (several files merged as
// kubectl merges them: the first file to set a name or current-context wins), --context,
// --cluster, --user, -n, in-cluster config. Files are read by @kubernetes/client-node.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { parseDuration } from '../core/duration.ts';
import { DevError } from '../core/errors.ts';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  /** kubectl's --request-timeout: "0" (none), "30s", "1m", or seconds. */
  requestTimeout?: string;
}

export interface KubeTarget {
  kc: KubeConfig;
  /** The namespace commands use: -n, else the context's, else "default". */
  namespace: string;
  /** Milliseconds per request; 0 means none. */
  requestTimeoutMs: number;
  /** A short description for messages: `context "kind-dev" (https://127.0.0.1:6443)`. */
  describe: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (error) {
    throw new DevError('KUBECONFIG_INVALID', `cannot load kubeconfig ${path}: ${(error as Error).message}`,
      'check the file (kubectl config view --kubeconfig=FILE shows what kubectl makes of it).', { source: path });
  }
  return kc;
}

/** Merges kubeconfig files the way kubectl does: first occurrence of each name, and the first current-context set, win. */
export function mergeKubeconfigs(files: readonly KubeConfig[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const file of files) {
    for (const c of file.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of file.users) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of file.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!currentContext && file.currentContext) currentContext = file.currentContext;
  }
  const merged = new KubeConfig();
  merged.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext });
  return merged;
}

/** --request-timeout: none when absent or "0". */
export function parseRequestTimeout(text: string | undefined): number {
  return text === undefined || text === '' || text === '0' ? 0 : parseDuration(text, '--request-timeout');
}

/**
 * client-node 2.0 makes a new connection pool (undici Agent) for every request, so every
 * request pays a TLS handshake and parallel requests cannot share a connection. Keep one
 * pool per cluster and user for the life of the process. (Patched on the instance: the
 * method is private in the library's types.)
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher: (cluster: Cluster | null, options: unknown) => unknown };
  const create = target.createDispatcher.bind(kc);
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, options) => {
    const key = `${cluster?.name ?? ''}\u0000${cluster?.server ?? ''}\u0000${kc.getCurrentUser()?.name ?? ''}`;
    if (!pools.has(key)) pools.set(key, create(cluster, options));
    return pools.get(key);
  };
  return kc;
}

export function loadKubeTarget(flags: KubeFlags, env: NodeJS.ProcessEnv): KubeTarget {
  let kc: KubeConfig;
  const files = flags.kubeconfig ? [flags.kubeconfig] : (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (files.length > 0) {
    const existing = flags.kubeconfig ? files : files.filter((f) => existsSync(f));
    if (flags.kubeconfig && !existsSync(flags.kubeconfig)) {
      throw new DevError('KUBECONFIG_INVALID', `kubeconfig ${flags.kubeconfig} does not exist`, 'pass the path of an existing kubeconfig with --kubeconfig.');
    }
    kc = mergeKubeconfigs(existing.map(loadFile));
  } else {
    const home = env.HOME ?? homedir();
    const defaultPath = join(home, '.kube', 'config');
    if (existsSync(defaultPath)) {
      kc = loadFile(defaultPath);
    } else if (existsSync(SERVICE_ACCOUNT_TOKEN) && env.KUBERNETES_SERVICE_HOST) {
      kc = new KubeConfig();
      kc.loadFromCluster();
    } else {
      throw new DevError('KUBECONFIG_INVALID', 'no kubeconfig found (no --kubeconfig, no KUBECONFIG, no ~/.kube/config, not in a cluster)',
        'point kubectl-dev at a cluster with --kubeconfig or KUBECONFIG, as for kubectl.');
    }
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new DevError('KUBECONFIG_INVALID', `context "${flags.context}" is not in the kubeconfig`,
        `use one of: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'} (kubectl config get-contexts).`);
    }
    kc.setCurrentContext(flags.context);
  }
  if (flags.cluster || flags.user) {
    // Like kubectl: --cluster/--user override the current context's cluster/user.
    const base = kc.getContextObject(kc.getCurrentContext());
    const cluster = flags.cluster ?? base?.cluster;
    const user = flags.user ?? base?.user;
    if (flags.cluster && !kc.getCluster(flags.cluster)) {
      throw new DevError('KUBECONFIG_INVALID', `cluster "${flags.cluster}" is not in the kubeconfig`, `use one of: ${kc.getClusters().map((c) => c.name).join(', ')}.`);
    }
    if (flags.user && !kc.getUser(flags.user)) {
      throw new DevError('KUBECONFIG_INVALID', `user "${flags.user}" is not in the kubeconfig`, `use one of: ${kc.getUsers().map((u) => u.name).join(', ')}.`);
    }
    const name = 'kubectl-dev-override';
    const context: Context = { name, cluster: cluster ?? '', user: user ?? '', ...(base?.namespace ? { namespace: base.namespace } : {}) };
    kc.loadFromOptions({ clusters: kc.clusters, users: kc.users, contexts: [...kc.contexts.filter((c) => c.name !== name), context], currentContext: name });
  }
  const current = kc.getCurrentCluster();
  if (!current) {
    throw new DevError('KUBECONFIG_INVALID', `the current context "${kc.getCurrentContext() || '(none)'}" names no cluster`,
      'pick a context with --context, or set one with kubectl config use-context.');
  }
  const namespace = flags.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return {
    kc: reuseConnections(kc),
    namespace,
    requestTimeoutMs: parseRequestTimeout(flags.requestTimeout),
    describe: `context "${kc.getCurrentContext()}" (${current.server})`,
  };
}
