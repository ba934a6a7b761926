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
