// A container's environment as the kubelet builds it from the pod spec: envFrom first (in order,
// not expanded), then env (in order, `$(VAR)` expanded against what came before), values from
// ConfigMaps, Secrets, the pod's fields and the container's resources. What the image sets and
// the Service links are not part of it. Pure: the objects it reads are passed in.

import { isPlainObject, type KubeObject, type PlainObject } from './objects.ts';
import { quantityValue } from './resources.ts';

export type EnvSource = 'value' | 'configMap' | 'secret' | 'field' | 'resource';

export interface ResolvedVar {
  name: string;
  /** Undefined when it comes from a Secret (or depends on one) and secrets were not asked for, or when it could not be resolved. */
  value?: string;
  source: EnvSource;
  /** Where it comes from, for people: `configmap/app-config key LOG_LEVEL`, `fieldRef status.podIP`. */
  from: string;
  /** Withheld because it is (or uses) a Secret's value. */
  secret?: boolean;
}

export interface EnvInput {
  pod: KubeObject;
  container: string;
  /** ConfigMaps by name (their `data`); a name absent here does not exist. */
  configMaps: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Secrets by name, values decoded; read only when `withSecrets`. */
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  withSecrets: boolean;
  /** The node's allocatable resources: what a resourceFieldRef on an unset limit reads. */
  nodeAllocatable?: Readonly<Record<string, string>>;
}

export interface ResolvedEnv {
  vars: ResolvedVar[];
  /** What could not be resolved (a missing required ConfigMap key, an unknown field): the kubelet would not start the container. */
  problems: string[];
}

/** `$(NAME)` → its value when defined (else kept as written), `$$` → `$`: the kubelet's expansion. */
export function expand(text: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$' || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

const REFERENCE = /\$\(([^)]*)\)/g;

function podField(pod: KubeObject, path: string): string | undefined {
  const meta = pod.metadata ?? {};
  const spec = (isPlainObject(pod.spec) ? pod.spec : {}) as PlainObject;
  const status = (isPlainObject(pod.status) ? pod.status : {}) as PlainObject;
  const ips = (list: unknown) => (Array.isArray(list) ? list.filter(isPlainObject).map((e) => String(e.ip)).join(',') : undefined);
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2] as string] ?? '';
  switch (path) {
    case 'metadata.name': return meta.name;
    case 'metadata.namespace': return meta.namespace;
    case 'metadata.uid': return meta.uid === undefined ? undefined : String(meta.uid);
    case 'spec.nodeName': return spec.nodeName === undefined ? '' : String(spec.nodeName);
    case 'spec.serviceAccountName': return spec.serviceAccountName === undefined ? '' : String(spec.serviceAccountName);
    case 'status.hostIP': return status.hostIP === undefined ? '' : String(status.hostIP);
    case 'status.hostIPs': return ips(status.hostIPs) ?? '';
    case 'status.podIP': return status.podIP === undefined ? '' : String(status.podIP);
    case 'status.podIPs': return ips(status.podIPs) ?? '';
    default: return undefined;
  }
}

/** A resourceFieldRef as the kubelet writes it: CPU in whole divisors rounded up, the rest in bytes / divisor rounded up. */
function resourceField(container: PlainObject, ref: PlainObject, allocatable: Readonly<Record<string, string>> | undefined): string | undefined {
  const [section, name] = String(ref.resource).split(/\.(.*)/s) as [string, string | undefined];
  if ((section !== 'limits' && section !== 'requests') || !name) return undefined;
  const resources = isPlainObject(container.resources) ? container.resources : {};
  const given = isPlainObject(resources[section]) ? (resources[section] as PlainObject)[name] : undefined;
  const quantity = given !== undefined ? String(given) : section === 'limits' ? allocatable?.[name] : '0';
  if (quantity === undefined) return undefined;
  const value = quantityValue(quantity);
  // The API server stores an absent divisor as "0"; the kubelet reads zero as 1.
  const written = quantityValue(ref.divisor === undefined ? '1' : String(ref.divisor));
  const divisor = written === 0 ? 1 : written;
  if (value === undefined || divisor === undefined || divisor < 0) return undefined;
  if (name === 'cpu') return String(Math.ceil(Math.round(value * 1000) / Math.round(divisor * 1000)));
  return String(Math.ceil(value / divisor));
}

/** The named container's environment; a later definition of a name replaces the earlier one (the kubelet keeps a map: its order means nothing). */
export function resolveEnv(input: EnvInput): ResolvedEnv {
  const spec = (isPlainObject(input.pod.spec) ? input.pod.spec : {}) as PlainObject;
  const all = [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])];
  const container = all.filter(isPlainObject).find((c) => c.name === input.container);
  const problems: string[] = [];
  if (!container) return { vars: [], problems: [`the pod has no container named ${input.container}`] };
  const vars = new Map<string, ResolvedVar>();
  const set = (v: ResolvedVar) => {
    vars.delete(v.name);
    vars.set(v.name, v);
  };
  const fromObject = (kind: 'configMap' | 'secret', name: string, key: string | undefined, optional: boolean): { value?: string; missing: boolean; secret?: boolean } => {
    if (kind === 'secret' && !input.withSecrets) return { missing: false, secret: true };
    const data = (kind === 'configMap' ? input.configMaps : input.secrets)[name];
    if (data === undefined || (key !== undefined && data[key] === undefined)) {
      if (!optional) problems.push(`${kind === 'configMap' ? 'ConfigMap' : 'Secret'} ${name}${key === undefined ? '' : ` key ${key}`} not found`);
      return { missing: true };
    }
    return { value: key === undefined ? undefined : data[key], missing: false };
  };
  for (const from of Array.isArray(container.envFrom) ? container.envFrom.filter(isPlainObject) : []) {
    const kind = isPlainObject(from.configMapRef) ? 'configMap' : isPlainObject(from.secretRef) ? 'secret' : undefined;
    if (!kind) continue;
    const ref = (kind === 'configMap' ? from.configMapRef : from.secretRef) as PlainObject;
    const name = String(ref.name);
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    const label = `${kind === 'configMap' ? 'configmap' : 'secret'}/${name}`;
    const got = fromObject(kind, name, undefined, ref.optional === true);
    if (got.secret) {
      problems.push(`the variables of ${label} (envFrom) are not listed: pass --secrets to read them`);
      continue;
    }
    if (got.missing) continue;
    const data = (kind === 'configMap' ? input.configMaps : input.secrets)[name] ?? {};
    for (const [key, value] of Object.entries(data)) set({ name: `${prefix}${key}`, value, source: kind, from: `${label} (envFrom)`, ...(kind === 'secret' ? { secret: true } : {}) });
  }
  for (const entry of Array.isArray(container.env) ? container.env.filter(isPlainObject) : []) {
    const name = String(entry.name);
    if (!isPlainObject(entry.valueFrom)) {
      const text = typeof entry.value === 'string' ? entry.value : '';
      const uses = [...text.matchAll(REFERENCE)].map((m) => vars.get(m[1] as string)).filter((v) => v !== undefined);
      const hidden = uses.some((v) => v.value === undefined && v.secret);
      const value = hidden ? undefined : expand(text, (n) => vars.get(n)?.value);
      set({ name, ...(value === undefined ? {} : { value }), source: 'value', from: 'value', ...(uses.some((v) => v.secret) ? { secret: true } : {}) });
      continue;
    }
    const vf = entry.valueFrom as PlainObject;
    if (isPlainObject(vf.configMapKeyRef) || isPlainObject(vf.secretKeyRef)) {
      const kind = isPlainObject(vf.configMapKeyRef) ? 'configMap' : 'secret';
      const ref = (kind === 'configMap' ? vf.configMapKeyRef : vf.secretKeyRef) as PlainObject;
      const got = fromObject(kind, String(ref.name), String(ref.key), ref.optional === true);
      if (got.missing) continue;
      set({ name, ...(got.value === undefined ? {} : { value: got.value }), source: kind, from: `${kind === 'configMap' ? 'configmap' : 'secret'}/${String(ref.name)} key ${String(ref.key)}`, ...(kind === 'secret' ? { secret: true } : {}) });
    } else if (isPlainObject(vf.fieldRef)) {
      const path = String(vf.fieldRef.fieldPath);
      const value = podField(input.pod, path);
      if (value === undefined) problems.push(`${name}: fieldRef ${path} is not a field the kubelet provides`);
      set({ name, ...(value === undefined ? {} : { value }), source: 'field', from: `fieldRef ${path}` });
    } else if (isPlainObject(vf.resourceFieldRef)) {
      const ref = vf.resourceFieldRef as PlainObject;
      const target = typeof ref.containerName === 'string' && ref.containerName !== '' ? all.filter(isPlainObject).find((c) => c.name === ref.containerName) : container;
      const value = target ? resourceField(target, ref, input.nodeAllocatable) : undefined;
      if (value === undefined) problems.push(`${name}: resourceFieldRef ${String(ref.resource)} could not be read${input.nodeAllocatable ? '' : ' (the limit is unset and the node\'s allocatable resources were not read)'}`);
      set({ name, ...(value === undefined ? {} : { value }), source: 'resource', from: `resourceFieldRef ${String(ref.resource)}` });
    }
  }
  return { vars: [...vars.values()], problems };
}

/** One line of a dotenv file: single quotes when the value has no quote or newline, else double quotes with escapes. */
export function dotenvLine(name: string, value: string): string {
  if (!/['\n\r]/.test(value)) return `${name}='${value}'`;
  return `${name}="${value.replace(/[\\"\n\r$`]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', $: '\\$', '`': '\\`' })[c] as string)}"`;
}
