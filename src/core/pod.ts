// The dev-mode rewrite of one pod template, as small steps: pick the container,
// turn it into the dev container, add the sync sidecar, add the volumes, mark the pod.
// All steps edit a clone in place; the caller owns the clone.

import { DevError } from './errors.ts';
import { isPlainObject, type PlainObject } from './objects.ts';
import {
  DEFAULT_CONTAINER_ANNOTATION, DEV_CONTAINER_ANNOTATION, PERSIST_VOLUME, SIDECAR_CONTAINER, SYNCTHING_HOME_VOLUME,
  SYNCTHING_SECRET_VOLUME, VOLUME_INIT_CONTAINER, WORKDIR_VOLUME, WORKLOAD_LABEL,
} from './marks.ts';
import { normalPath, persistMount, persistsWorkdir, persistVolume, volumeInitContainer } from './persist.ts';
import {
  DEFAULT_COMMAND, DEFAULT_SIDECAR_IMAGE, DEFAULT_WORKDIR, SIDECAR_UID, SYNCTHING_API_PORT, SYNCTHING_GUI_ADDRESS, SYNCTHING_HOME, SYNCTHING_SECRET_DIR, SYNCTHING_SYNC_PORT,
  type DevSettings, type DevSettingsInput, type EnvVar,
} from './settings.ts';
import type { PodTemplateParts } from './kinds.ts';
import { withOverrides } from './resources.ts';

type Container = PlainObject & { name?: unknown };

function containersOf(spec: PlainObject, field: 'containers' | 'initContainers' | 'ephemeralContainers'): Container[] {
  const list = spec[field];
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
}

function containerNames(spec: PlainObject): string[] {
  return containersOf(spec, 'containers').map((c) => String(c.name));
}

/**
 * The container to develop in: `-c`, else the pod's default-container annotation
 * (also read from the workload's own annotations), else the only container.
 */
export function selectContainer(template: PodTemplateParts, wanted: string | undefined, workloadAnnotations: Record<string, string> | undefined): string {
  const names = containerNames(template.spec);
  const unnamed = containersOf(template.spec, 'containers').findIndex((c) => typeof c.name !== 'string' || c.name === '');
  if (unnamed >= 0) {
    throw new DevError('INVALID_INPUT', `container ${unnamed + 1} of the pod has no name`, 'give every container a name (the API server requires one).', { path: `containers[${unnamed}]` });
  }
  if (names.length === 0) {
    throw new DevError('NO_CONTAINERS', 'the pod template has no containers', 'add a container to the workload before entering dev mode.', { path: 'containers' });
  }
  const podAnnotations = isPlainObject(template.metadata.annotations) ? template.metadata.annotations : {};
  const annotated = podAnnotations[DEFAULT_CONTAINER_ANNOTATION] ?? workloadAnnotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const choice = wanted ?? (typeof annotated === 'string' ? annotated : undefined);
  if (choice !== undefined) {
    if (names.includes(choice)) return choice;
    const source = wanted !== undefined ? '-c' : `the ${DEFAULT_CONTAINER_ANNOTATION} annotation`;
    throw new DevError('CONTAINER_NOT_FOUND', `container "${choice}" (from ${source}) is not in the pod; its containers are: ${names.join(', ')}`,
      `pass -c with one of: ${names.join(', ')}.`, { path: 'containers' });
  }
  if (names.length > 1) {
    throw new DevError('CONTAINER_AMBIGUOUS', `the pod has ${names.length} containers (${names.join(', ')}) and none was chosen`,
      `pass -c with one of: ${names.join(', ')}, or set the ${DEFAULT_CONTAINER_ANNOTATION} annotation on the pod template.`, { path: 'containers' });
  }
  return names[0] as string;
}

/** Fills in the defaults for one workload, once its container is known. */
export function resolveSettings(input: DevSettingsInput, container: string, currentImage: string): DevSettings {
  const resolved: DevSettings = {
    container,
    devContainer: input.renameContainer ?? container,
    image: input.image ?? currentImage,
    command: [...(input.command ?? DEFAULT_COMMAND)],
    workdir: input.workdir ?? DEFAULT_WORKDIR,
    keepSecurityContext: input.keepSecurityContext ?? false,
    sidecarImage: input.sidecarImage ?? DEFAULT_SIDECAR_IMAGE,
  };
  if (input.env !== undefined) resolved.env = input.env.map((e) => ({ ...e }));
  if (input.resources !== undefined) resolved.resources = structuredClone(input.resources);
  if (input.cpu !== undefined) resolved.cpu = { ...input.cpu };
  if (input.memory !== undefined) resolved.memory = { ...input.memory };
  if (input.persist !== undefined && input.persist.length > 0) resolved.persist = [...new Set(input.persist.map(normalPath))];
  return resolved;
}

/** Refuses to add a name that the pod already uses: dev mode never overwrites the pod's own volumes or containers. */
function checkCollisions(spec: PlainObject, settings: DevSettings): void {
  const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter(isPlainObject).map((v) => String(v.name)) : [];
  for (const ours of [WORKDIR_VOLUME, SYNCTHING_HOME_VOLUME, SYNCTHING_SECRET_VOLUME, ...(settings.persist ? [PERSIST_VOLUME] : [])]) {
    if (volumes.includes(ours)) {
      throw new DevError('VOLUME_COLLISION', `the pod already has a volume named "${ours}", which dev mode needs to add`,
        'rename that volume in the workload (names starting with "kubectl-dev-" are reserved for dev mode).', { path: 'volumes' });
    }
  }
  const allContainers = [...containersOf(spec, 'containers'), ...containersOf(spec, 'initContainers'), ...containersOf(spec, 'ephemeralContainers')];
  const taken = allContainers.map((c) => String(c.name));
  const added = taken.find((name) => name === SIDECAR_CONTAINER || (settings.persist !== undefined && name === VOLUME_INIT_CONTAINER));
  if (added !== undefined) {
    throw new DevError('VOLUME_COLLISION', `the pod already has a container named "${added}", which dev mode needs to add`,
      'rename that container (names starting with "kubectl-dev-" are reserved for dev mode).', { path: 'containers' });
  }
  if (settings.devContainer !== settings.container && taken.includes(settings.devContainer)) {
    throw new DevError('INVALID_OPTION', `cannot rename container "${settings.container}" to "${settings.devContainer}": the pod already has a container with that name`,
      'choose another name with --rename-container, or leave the name as it is.', { path: 'containers' });
  }
}

function mergeEnv(current: unknown, overrides: EnvVar[]): EnvVar[] {
  const env = Array.isArray(current) ? current.filter(isPlainObject).map((e) => ({ ...e }) as EnvVar) : [];
  for (const override of overrides) {
    const at = env.findIndex((e) => e.name === override.name);
    if (at >= 0) env[at] = { ...override };
    else env.push({ ...override });
  }
  return env;
}

/**
 * The dev container's securityContext: what admission checks stays (no privilege escalation,
 * dropped capabilities, seccomp, runAsNonRoot), what blocks development goes: a read-only
 * root filesystem, and the app image's user unless the pod must run as non-root (then the
 * user stays, so that a dev image whose USER is root still starts). `keep` keeps it all.
 */
export function devSecurityContext(current: unknown, podSpec: PlainObject, keep: boolean): PlainObject | undefined {
  if (!isPlainObject(current)) return undefined;
  const out = structuredClone(current);
  if (keep) return out;
  delete out.readOnlyRootFilesystem;
  const podContext = isPlainObject(podSpec.securityContext) ? podSpec.securityContext : {};
  if ((out.runAsNonRoot ?? podContext.runAsNonRoot) !== true) {
    delete out.runAsUser;
    delete out.runAsGroup;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The selected container becomes the dev container: dev image, blocking PID 1, no probes, the work dir mounted. */
function rewriteDevContainer(container: Container, podSpec: PlainObject, settings: DevSettings): void {
  const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isPlainObject) : [];
  for (const [path, what, fix] of [[settings.workdir, 'the dev work dir', 'choose another work dir with --workdir.'], ...(settings.persist ?? []).map((p) => [p, 'a persisted path', 'persist another path (--persist, persist: in the dev config).'])] as const) {
    const clash = mounts.find((m) => normalPath(String(m.mountPath)) === normalPath(path));
    if (clash) {
      throw new DevError('MOUNT_COLLISION', `container "${settings.container}" already mounts volume "${String(clash.name)}" at ${path}, ${what}`,
        fix, { path: `containers[${settings.container}].volumeMounts` });
    }
  }
  container.name = settings.devContainer;
  container.image = settings.image;
  container.command = [...settings.command];
  delete container.args;
  container.workingDir = settings.workdir;
  // The app's health checks and hooks test a process that is not running in dev mode.
  delete container.livenessProbe;
  delete container.readinessProbe;
  delete container.startupProbe;
  delete container.lifecycle;
  const securityContext = devSecurityContext(container.securityContext, podSpec, settings.keepSecurityContext);
  if (securityContext) container.securityContext = securityContext;
  else delete container.securityContext;
  if (settings.env !== undefined) container.env = mergeEnv(container.env, settings.env);
  if (settings.resources !== undefined) container.resources = structuredClone(settings.resources);
  if (settings.cpu !== undefined || settings.memory !== undefined) {
    container.resources = withOverrides(container.resources, { ...(settings.cpu ? { cpu: settings.cpu } : {}), ...(settings.memory ? { memory: settings.memory } : {}) });
  }
  const persisted = (settings.persist ?? []).filter((p) => !persistsWorkdir([p], settings.workdir)).sort().map(persistMount);
  container.volumeMounts = [...mounts, workdirMount(settings), ...persisted];
}

/** The work dir's mount (both containers): the emptyDir, or the claim when the work dir is persisted. */
function workdirMount(settings: DevSettings): PlainObject {
  return persistsWorkdir(settings.persist, settings.workdir) ? persistMount(settings.workdir) : { name: WORKDIR_VOLUME, mountPath: settings.workdir };
}

/**
 * The shell script the sidecar runs: wait for the Secret (it is optional, so pods
 * rendered by the post-renderer start before `kubectl dev sync` creates it), copy
 * config and keys into syncthing's home, then run syncthing as PID 1.
 */
export function sidecarScript(): string {
  return [
    // While it waits, sh is PID 1 and would ignore SIGTERM: the pod would take its whole grace period to stop.
    'trap "exit 0" TERM INT',
    `until [ -s ${SYNCTHING_SECRET_DIR}/config.xml ]; do echo "waiting for the dev sync Secret (run: kubectl dev sync)"; sleep 2 & wait $!; done`,
    `cp ${SYNCTHING_SECRET_DIR}/config.xml ${SYNCTHING_SECRET_DIR}/cert.pem ${SYNCTHING_SECRET_DIR}/key.pem ${SYNCTHING_HOME}/`,
    // What syncthing creates is then writable by the dev container's user, whatever its uid (docs/decisions.md).
    'umask 0000',
    `exec /bin/syncthing serve --home=${SYNCTHING_HOME} --gui-address=${SYNCTHING_GUI_ADDRESS} --no-browser --no-restart --no-upgrade`,
  ].join(' && ');
}

function sidecarContainer(settings: DevSettings): PlainObject {
  return {
    name: SIDECAR_CONTAINER,
    image: settings.sidecarImage,
    command: ['/bin/sh', '-c', sidecarScript()],
    // Overrides the image's own env (STGUIADDRESS=0.0.0.0:8384, STHOMEDIR, HOME), so that no image can move syncthing off loopback or off its home.
    env: [
      { name: 'STNOUPGRADE', value: '1' },
      { name: 'STNODEFAULTFOLDER', value: '1' },
      { name: 'STGUIADDRESS', value: SYNCTHING_GUI_ADDRESS },
      { name: 'STHOMEDIR', value: SYNCTHING_HOME },
      { name: 'HOME', value: SYNCTHING_HOME },
    ],
    resources: {
      requests: { cpu: '100m', memory: '50Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    },
    // Passes Pod Security "restricted"; gid 0 reads the Secret files (0440) when the pod
    // sets no fsGroup, and fsGroup (a supplementary group) covers the other case.
    securityContext: {
      runAsUser: SIDECAR_UID,
      runAsGroup: 0,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      workdirMount(settings),
      { name: SYNCTHING_HOME_VOLUME, mountPath: SYNCTHING_HOME },
      { name: SYNCTHING_SECRET_VOLUME, mountPath: SYNCTHING_SECRET_DIR, readOnly: true },
    ],
  };
}

/** Mode of the Secret files: owner and group may read, nobody else (0440). */
export const SECRET_FILE_MODE = 0o440;

function devVolumes(secretName: string, settings: DevSettings, claimName: string | undefined): PlainObject[] {
  return [
    ...(persistsWorkdir(settings.persist, settings.workdir) ? [] : [{ name: WORKDIR_VOLUME, emptyDir: {} }]),
    ...(settings.persist && claimName !== undefined ? [persistVolume(claimName)] : []),
    { name: SYNCTHING_HOME_VOLUME, emptyDir: {} },
    {
      name: SYNCTHING_SECRET_VOLUME,
      secret: {
        secretName,
        optional: true,
        defaultMode: SECRET_FILE_MODE,
        items: ['config.xml', 'cert.pem', 'key.pem'].map((key) => ({ key, path: key, mode: SECRET_FILE_MODE })),
      },
    },
  ];
}

export interface PodRewrite {
  settings: DevSettings;
  /** Label value that names the workload on the dev pod. */
  workloadLabel: string;
  secretName: string;
  /** The workload's PersistentVolumeClaim, when settings persist paths. */
  claimName?: string;
}

/**
 * A pod on the node's network is refused: its sync sidecar would listen on the node's own
 * loopback (127.0.0.1:22000 and :8384), where the sidecars of two such dev pods on one node
 * collide and where every other hostNetwork pod and every process of the node can reach them.
 */
function checkHostNetwork(spec: PlainObject): void {
  if (spec.hostNetwork !== true) return;
  throw new DevError('INVALID_INPUT',
    `the pod template has hostNetwork: true: dev mode's sync sidecar would listen on the node's own loopback ports ${SYNCTHING_SYNC_PORT} and ${SYNCTHING_API_PORT}, ` +
      'where two dev pods on one node collide and every other hostNetwork pod and process of the node can reach it, so dev mode does not take pods on the host network',
    'develop a copy on the pod network: kubectl get the workload -o yaml, give it another name, delete hostNetwork (and dnsPolicy: ClusterFirstWithHostNet), kubectl apply it, then kubectl dev start the copy.',
    { path: 'hostNetwork' });
}

/** Applies the dev-mode rewrite to a pod template (a clone: edited in place). */
export function rewritePodTemplate(template: PodTemplateParts, rewrite: PodRewrite): void {
  const { spec, metadata } = template;
  const { settings } = rewrite;
  checkHostNetwork(spec);
  checkCollisions(spec, settings);
  const containers = containersOf(spec, 'containers');
  const dev = containers.find((c) => c.name === settings.container);
  if (!dev) throw new Error(`unreachable: container ${settings.container} was selected but is missing`);
  rewriteDevContainer(dev, spec, settings);
  spec.containers = [...containers, sidecarContainer(settings)];
  if (settings.persist) {
    if (rewrite.claimName === undefined) throw new Error('unreachable: persisted paths without a claim name');
    // First: the persisted directories exist, writable, before any other container starts.
    spec.initContainers = [volumeInitContainer(settings.persist, settings.sidecarImage), ...containersOf(spec, 'initContainers')];
  }
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  spec.volumes = [...volumes, ...devVolumes(rewrite.secretName, settings, rewrite.claimName)];

  const labels = isPlainObject(metadata.labels) ? metadata.labels : {};
  metadata.labels = { ...labels, [WORKLOAD_LABEL]: rewrite.workloadLabel };
  const annotations = isPlainObject(metadata.annotations) ? metadata.annotations : {};
  // kubectl logs/exec/attach without -c pick the dev container.
  metadata.annotations = { ...annotations, [DEV_CONTAINER_ANNOTATION]: settings.devContainer, [DEFAULT_CONTAINER_ANNOTATION]: settings.devContainer };
}

/** The image of a container in a pod template ('' when it has none). */
export function containerImage(template: PodTemplateParts, name: string): string {
  const container = containersOf(template.spec, 'containers').find((c) => c.name === name);
  return typeof container?.image === 'string' ? container.image : '';
}
