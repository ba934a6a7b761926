// Generic object access over @kubernetes/client-node's KubernetesObjectApi, keeping objects
// exactly as the API server sends them. The library's typed models drop fields they do not
// know (a newer server's fields) and turn timestamps into Dates; an exact restore cannot
// afford either, so requests and responses here carry plain JSON through the library's own
// request pipeline (auth, TLS, middleware).

import {
  ApiException, AuthenticationV1Api, AuthorizationV1Api, HttpMethod, VersionApi, KubernetesObjectApi, PatchStrategy, Watch, type KubeConfig, type KubernetesObject, type V1APIResource,
} from '@kubernetes/client-node';
import type { Operation } from 'fast-json-patch';
import { DevError } from '../core/errors.ts';
import { WORKLOAD_KINDS } from '../core/kinds.ts';
import { FIELD_MANAGER } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';

/** Identifies one object on the cluster. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface WriteOptions {
  /** Server-side dry run: validated and admitted, not persisted. */
  dryRun?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  /** Delete only this exact object (an old one of the same name is not touched). */
  uid?: string;
}

/** One permission, as `kubectl auth can-i VERB RESOURCE[/SUBRESOURCE] -n NAMESPACE` asks it. */
export interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace: string;
}

/** One change seen by a watch: the object as it is now (DELETED: as it was). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export interface WatchHandle {
  /** Ends the watch (closes its connection). */
  stop(): void;
  /** Settles when the watch has ended: undefined when it ended normally or was stopped, else why it failed. */
  ended: Promise<DevError | undefined>;
}

/** A user as the API server sees it (`kubectl auth whoami`). */
export interface Identity {
  username: string;
  groups: string[];
}

/** The narrow interface live mode uses; everything else about the cluster stays in src/kube. */
export interface ClusterApi {
  /** The server's version (GET /version), e.g. "v1.36.3". */
  serverVersion(): Promise<string>;
  /** The user as the API server authenticates it (SelfSubjectReview): who holds dev mode, whose copy a duplicate is. */
  whoAmI(): Promise<Identity>;
  /** The permissions the current user lacks (one SelfSubjectRulesReview, SelfSubjectAccessReview where it cannot tell). */
  missingPermissions(permissions: readonly Permission[]): Promise<Permission[]>;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  create(obj: KubeObject, options?: WriteOptions): Promise<KubeObject>;
  /** A JSON patch (RFC 6902); add a `replace` of /metadata/resourceVersion for a precondition. */
  patch(ref: ObjectRef, operations: Operation[], options?: WriteOptions): Promise<KubeObject>;
  /** Returns false when the object was already gone. */
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<boolean>;
  /** `metadataOnly`: name, namespace, labels, annotations, owners… but no spec or status (less to encode, send and parse). */
  list(apiVersion: string, kind: string, namespace: string | undefined, selectors?: { label?: string; field?: string }, options?: { metadataOnly?: boolean }): Promise<KubeObject[]>;
  /**
   * Watches objects from now on: first an ADDED event for every object that exists (the API
   * server's "most recent" watch semantics), then every change, until stopped or `timeoutMs`.
   */
  watch(apiVersion: string, kind: string, namespace: string | undefined, selectors: { label?: string; field?: string }, onEvent: (event: WatchEvent) => void, timeoutMs: number): WatchHandle;
}

/** Resources the project touches, answered from here instead of a discovery request. */
const KNOWN_RESOURCES: Record<string, string> = {
  ...Object.fromEntries(WORKLOAD_KINDS.map((k) => [`${k.group ? `${k.group}/` : ''}${k.version}/${k.kind}`, k.resource])),
  'v1/Secret': 'secrets',
  'v1/ConfigMap': 'configmaps',
  'v1/Event': 'events',
  'v1/Namespace': 'namespaces',
  'v1/Node': 'nodes',
  'apps/v1/ReplicaSet': 'replicasets',
  'apps/v1/ControllerRevision': 'controllerrevisions',
  'autoscaling/v2/HorizontalPodAutoscaler': 'horizontalpodautoscalers',
  'autoscaling/v1/HorizontalPodAutoscaler': 'horizontalpodautoscalers',
  // Argo CD's (--gitops=pause): a cluster without its CRD answers 404, which reads as "no Application".
  'argoproj.io/v1alpha1/Application': 'applications',
};

class RawObjectApi extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): RawObjectApi {
    const api = kc.makeApiClient(RawObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  protected override async resource(apiVersion: string, kind: string, options?: Parameters<KubernetesObjectApi['read']>[4]): Promise<V1APIResource | undefined> {
    const name = KNOWN_RESOURCES[`${apiVersion}/${kind}`];
    if (name) return { name, kind, namespaced: kind !== 'Namespace' && kind !== 'Node', singularName: kind.toLowerCase(), verbs: [] };
    return super.resource(apiVersion, kind, options);
  }

  protected override async processResponse<T extends KubernetesObject>(response: Parameters<KubernetesObjectApi['processResponse']>[0]): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return (text ? JSON.parse(text) : {}) as T;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', body, response.headers);
  }

  private async send<T>(ref: KubernetesObject, action: 'create' | 'patch', method: HttpMethod, body: unknown, contentType: string, dryRun: boolean | undefined): Promise<T> {
    const path = await this.specUriPath(ref, action);
    const context = this.configuration.baseServer.makeRequestContext(path, method);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', contentType);
    context.setQueryParam('fieldManager', FIELD_MANAGER);
    if (dryRun) context.setQueryParam('dryRun', 'All');
    context.setBody(JSON.stringify(body));
    return this.requestPromise(context) as Promise<T>;
  }

  createRaw(obj: KubeObject, dryRun?: boolean): Promise<KubeObject> {
    return this.send(obj as KubernetesObject, 'create', HttpMethod.POST, obj, 'application/json', dryRun);
  }

  jsonPatch(ref: ObjectRef, operations: Operation[], dryRun?: boolean): Promise<KubeObject> {
    return this.send(headerOf(ref), 'patch', HttpMethod.PATCH, operations, PatchStrategy.JsonPatch, dryRun);
  }

  /** A LIST of PartialObjectMetadata (the library's list asks for full objects). */
  async listMetadata(apiVersion: string, kind: string, namespace: string | undefined, selectors: { label?: string; field?: string }): Promise<{ items?: KubeObject[] }> {
    const context = this.configuration.baseServer.makeRequestContext(await this.collectionPath(apiVersion, kind, namespace), HttpMethod.GET);
    context.setHeaderParam('Accept', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json;q=0.9');
    if (selectors.label) context.setQueryParam('labelSelector', selectors.label);
    if (selectors.field) context.setQueryParam('fieldSelector', selectors.field);
    return this.requestPromise(context) as Promise<{ items?: KubeObject[] }>;
  }

  /** The path of a collection, e.g. /api/v1/namespaces/NS/pods. */
  collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    return this.specUriPath({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, 'list');
  }
}

function headerOf(ref: ObjectRef): KubernetesObject {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}${ref.namespace ? ` in namespace ${ref.namespace}` : ''}`;
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { causes?: { message?: string; field?: string }[] };
}

/** Turns what the library throws into a DevError that says what failed and what to do. */
export function toDevError(error: unknown, what: string, server: string): DevError {
  if (error instanceof DevError) return error;
  if (error instanceof ApiException) {
    const status = (typeof error.body === 'object' && error.body !== null ? error.body : {}) as StatusBody;
    const detail = status.message ?? (typeof error.body === 'string' ? error.body : `HTTP ${error.code}`);
    switch (error.code) {
      case 401:
        return new DevError('UNAUTHORIZED', `${what}: the API server did not accept your credentials (${detail})`, 'log in again or refresh the credentials of your kubeconfig user.');
      case 403:
        return new DevError('FORBIDDEN', `${what}: forbidden: ${detail}`, 'ask a cluster admin for the RBAC permission named above (kubectl auth can-i shows what you may do); nothing was changed by this step.');
      case 404:
        return new DevError('NOT_FOUND', `${what}: not found (${detail})`, 'check the kind, name and namespace (kubectl get shows what exists).');
      case 409:
        return new DevError('CONFLICT', `${what}: conflict: ${detail}`, 'someone else changed the object at the same time; run the command again.');
      case 422: {
        const causes = (status.details?.causes ?? []).map((c) => `${c.field ?? ''}: ${c.message ?? ''}`).join('; ');
        return new DevError('INVALID_OBJECT', `${what}: the API server rejected the object: ${causes || detail}`, 'fix the field named above in the workload or the dev settings.');
      }
      default:
        return new DevError('API_ERROR', `${what}: the API server answered HTTP ${error.code}: ${detail}`, 'retry; if it persists, check the API server (kubectl get --raw /readyz).');
    }
  }
  const err = error as Error & { cause?: { code?: string; message?: string }; code?: string };
  const code = err.cause?.code ?? err.code;
  const message = err.cause?.message ?? err.message ?? String(error);
  const networkCodes = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'];
  if ((code !== undefined && networkCodes.includes(code)) || /fetch failed|socket hang up|other side closed|connect/i.test(message)) {
    return new DevError('UNREACHABLE', `${what}: cannot reach the API server at ${server} (${code ?? message})`, 'check that the cluster is up and the kubeconfig points at it (kubectl cluster-info); then run the command again.');
  }
  return new DevError('API_ERROR', `${what}: ${message}`, 'retry; if it persists, run with KUBECTL_DEV_DEBUG=1 and report the output.');
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DevError('TIMEOUT', `${what}: no answer within the request timeout (${ms} ms)`, 'raise --request-timeout, or check the API server.')), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Permissions not granted, of those asked: one rules review per namespace, access reviews where it is incomplete. */
async function missingPermissionsOf(authorization: AuthorizationV1Api, permissions: readonly Permission[]): Promise<Permission[]> {
  // One rules review per namespace answers every question locally; when the authorizer
  // cannot list rules (incomplete), ask the questions it could not answer one by one.
  const namespaces = [...new Set(permissions.map((p) => p.namespace))];
  const reviews = new Map(await Promise.all(namespaces.map(async (namespace) => {
    const review = await authorization.createSelfSubjectRulesReview({ body: { spec: { namespace } } });
    return [namespace, review.status] as const;
  })));
  const allowedByRules = (p: Permission) => (reviews.get(p.namespace)?.resourceRules ?? []).some((rule) =>
    (rule.verbs.includes('*') || rule.verbs.includes(p.verb)) &&
    (rule.apiGroups?.includes('*') || rule.apiGroups?.includes(p.group)) &&
    (rule.resources?.includes('*') || rule.resources?.includes(p.subresource ? `${p.resource}/${p.subresource}` : p.resource)) &&
    (rule.resourceNames ?? []).length === 0);
  const unanswered = permissions.filter((p) => !allowedByRules(p));
  const incomplete = unanswered.filter((p) => reviews.get(p.namespace)?.incomplete);
  const answers = await Promise.all(incomplete.map((p) =>
    authorization.createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, namespace: p.namespace, ...(p.subresource ? { subresource: p.subresource } : {}) } } },
    })));
  const allowedByReview = new Set(incomplete.filter((_, i) => answers[i]?.status?.allowed === true));
  return unanswered.filter((p) => !allowedByReview.has(p));
}

/** Where the watch and the list act, for their errors. */
function collectionWhat(verb: string, kind: string, namespace: string | undefined): string {
  return `${verb} ${kind}${namespace ? ` in namespace ${namespace}` : ' in all namespaces'}`;
}

/** A watch of one collection: its events to onEvent until stopped or ended by the server. */
function watchCollection(
  kc: KubeConfig, api: RawObjectApi, server: string, apiVersion: string, kind: string, namespace: string | undefined,
  selectors: { label?: string; field?: string }, onEvent: (event: WatchEvent) => void, timeoutMs: number,
): WatchHandle {
  const what = collectionWhat('watch', kind, namespace);
  let stopped = false;
  let controller: AbortController | undefined;
  const ended = new Promise<DevError | undefined>((resolve) => {
    const settle = (error: unknown) => {
      if (stopped || !error) return resolve(undefined);
      const code = (error as { statusCode?: number }).statusCode;
      resolve(toDevError(code ? new ApiException(code, String((error as Error).message), undefined, {}) : error, what, server));
    };
    const watcher = new Watch(kc);
    // Its inactivity timeout (30 s) would end a quiet watch early: the server's timeoutSeconds ends it instead.
    (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = timeoutMs + 30_000;
    api.collectionPath(apiVersion, kind, namespace)
      .then((path) => watcher.watch(path, {
        labelSelector: selectors.label, fieldSelector: selectors.field, timeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)),
      }, (type, object) => {
        if (stopped) return;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, object: { apiVersion, kind, ...object } as KubeObject });
        // An ERROR event (e.g. 410 Gone) is followed by the end of the stream.
        else if (type === 'ERROR') settle(Object.assign(new Error(String((object as StatusBody).message ?? 'watch error')), { statusCode: Number((object as { code?: number }).code ?? 500) }));
      }, settle))
      .then((c) => {
        controller = c;
        if (stopped) c.abort();
      }, settle);
  });
  return {
    ended,
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** The items of one collection, each with its apiVersion and kind. */
async function listCollection(
  api: RawObjectApi, apiVersion: string, kind: string, namespace: string | undefined,
  selectors: { label?: string; field?: string }, options: { metadataOnly?: boolean },
): Promise<KubeObject[]> {
  const list = options.metadataOnly
    ? await api.listMetadata(apiVersion, kind, namespace, selectors)
    : await api.list(apiVersion, kind, namespace, undefined, undefined, undefined, selectors.field, selectors.label);
  // List items come without apiVersion and kind (metadata-only ones as PartialObjectMetadata); give them theirs so they can be addressed.
  return ((list.items ?? []) as KubeObject[]).map((item) => ({ ...item, apiVersion, kind }));
}

/** The real ClusterApi for a kubeconfig. */
export function clusterApi(kc: KubeConfig, requestTimeoutMs = 0): ClusterApi {
  const api = RawObjectApi.forConfig(kc);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await withTimeout(run(), requestTimeoutMs, what);
    } catch (error) {
      throw toDevError(error, what, server);
    }
  };
  const authorization = kc.makeApiClient(AuthorizationV1Api);
  const authentication = kc.makeApiClient(AuthenticationV1Api);
  return {
    serverVersion: () => call('GET /version', async () => String((await kc.makeApiClient(VersionApi).getCode()).gitVersion)),
    whoAmI: () => call('who am I (SelfSubjectReview)', async () => {
      const review = await authentication.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      const user = review.status?.userInfo;
      return { username: user?.username ?? '', groups: [...(user?.groups ?? [])] };
    }),
    missingPermissions: (permissions) => call('check permissions (SelfSubjectRulesReview)', () => missingPermissionsOf(authorization, permissions)),
    async get(ref) {
      try {
        return await withTimeout(api.read(headerOf(ref) as never) as Promise<KubeObject>, requestTimeoutMs, `get ${describeRef(ref)}`);
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw toDevError(error, `get ${describeRef(ref)}`, server);
      }
    },
    create: (obj, options = {}) => call(`create ${obj.kind}/${obj.metadata?.name}`, () => api.createRaw(obj, options.dryRun)),
    patch: (ref, operations, options = {}) => call(`patch ${describeRef(ref)}`, () => api.jsonPatch(ref, operations, options.dryRun)),
    async delete(ref, options = {}) {
      try {
        // All options in the body: the API server reads the query parameters only when there is no body
        // (a Job deleted with propagationPolicy in the query alone orphans its pods, the batch/v1 default).
        const body: Record<string, unknown> = {};
        if (options.uid) body.preconditions = { uid: options.uid };
        if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
        if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
        await withTimeout(api.delete(headerOf(ref), undefined, undefined, undefined, undefined, undefined, body as never), requestTimeoutMs, `delete ${describeRef(ref)}`);
        return true;
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return false;
        throw toDevError(error, `delete ${describeRef(ref)}`, server);
      }
    },
    watch: (apiVersion, kind, namespace, selectors, onEvent, timeoutMs) =>
      watchCollection(kc, api, server, apiVersion, kind, namespace, selectors, onEvent, timeoutMs),
    list: (apiVersion, kind, namespace, selectors = {}, options = {}) =>
      call(collectionWhat('list', kind, namespace), () => listCollection(api, apiVersion, kind, namespace, selectors, options)),
  };
}
