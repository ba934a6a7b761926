// Deterministic names for what dev mode adds. Kubernetes limits names and label
// values; long workload names are shortened with a stable hash so that two
// workloads never share a generated name and the same input always gives the same name.

/** FNV-1a, 32 bits, as 7 base-36 characters: stable across runs and platforms. */
export function stableHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36).padStart(7, '0');
}

/** `base` + `suffix`, cut to `max` characters with a hash of the full name when too long. */
export function boundedName(base: string, suffix: string, max: number): string {
  const full = `${base}${suffix}`;
  if (full.length <= max) return full;
  const hash = stableHash(full);
  const keep = max - suffix.length - hash.length - 1;
  return `${base.slice(0, keep).replace(/[-.]+$/, '')}-${hash}${suffix}`;
}

/** DNS-1123 label limit (Job names end up in pod labels, so they use it too). */
export const LABEL_MAX = 63;
/** DNS-1123 subdomain limit for object names such as Secrets and Deployments. */
export const SUBDOMAIN_MAX = 253;

/** A valid label value naming a workload: `deployment.web`, hashed when long. */
export function workloadLabelValue(kind: string, name: string): string {
  return boundedName(`${kind.toLowerCase()}.${name}`, '', LABEL_MAX);
}

/** The Secret holding the sidecar's syncthing config, certificate and key. */
export function syncSecretName(kind: string, name: string): string {
  return boundedName(`${name}-${kind.toLowerCase()}`, '-dev-sync', SUBDOMAIN_MAX);
}

/** The generated Deployment (for a DaemonSet) or Job (for a Job or CronJob). */
export function generatedName(name: string, generated: { maxNameLength: number }): string {
  return boundedName(name, '-dev', generated.maxNameLength);
}

/** The ConfigMap that keeps an original too large for an annotation, or a Pod's original while it is replaced. */
export function originalConfigMapName(kind: string, name: string): string {
  return boundedName(`${name}-${kind.toLowerCase()}`, '-dev-original', SUBDOMAIN_MAX);
}

/** The PersistentVolumeClaim of a workload's persisted paths; a label-length name, as some provisioners copy it into labels. */
export function persistentClaimName(kind: string, name: string): string {
  return boundedName(`${name}-${kind.toLowerCase()}`, '-dev-persist', LABEL_MAX);
}

/** Longest user part of a copy's name: long user names (e-mails, service accounts, OIDC subjects) are cut and hashed. */
export const USER_SUFFIX_MAX = 20;

/**
 * Longest name of a dev copy: a StatefulSet's pods carry `<name>-<10-character hash>` as a label
 * value (63 at most), a Job's name becomes one too; 52 keeps every copy kind valid.
 */
export const COPY_NAME_MAX = 52;

/** The readable part of a user name: an e-mail's local part, else the last segment of `system:serviceaccount:ns:name` or an issuer URL. */
function readableUser(username: string): string {
  const local = username.includes('@') ? username.slice(0, username.indexOf('@')) : username;
  const last = local.split(/[:/#]/).filter((s) => s !== '').at(-1) ?? '';
  return last.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * A DNS-safe, bounded, per-user suffix: the user name itself when it already is one
 * (`alice`, `kubernetes-admin`), else its readable part and a hash of the whole name, so that two
 * users whose names differ only in what a DNS label cannot hold (`a.b@x` and `a-b@x`) never share it.
 */
export function userSuffix(username: string): string {
  if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(username) && username.length <= USER_SUFFIX_MAX) return username;
  const hash = stableHash(username);
  const head = readableUser(username).slice(0, USER_SUFFIX_MAX - hash.length - 1).replace(/-+$/, '');
  return head === '' ? hash : `${head}-${hash}`;
}

/** The dev copy of workload `name` for a user: `web-dev-alice`. */
export function duplicateName(name: string, username: string): string {
  return boundedName(name, `-dev-${userSuffix(username)}`, COPY_NAME_MAX);
}
