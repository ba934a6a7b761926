// Reads a dev pod's status the way a person would: ready, still coming, or failed (and why,
// with what to do: the container, its image, the cause the kubelet gave, the flag to change).

import { SIDECAR_CONTAINER, VOLUME_INIT_CONTAINER } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { DEFAULT_COMMAND } from '../core/settings.ts';

export type PodHealth =
  | { state: 'ready' }
  | { state: 'waiting'; reason: string }
  | { state: 'failed'; reason: string; hint: string };

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  terminated?: { reason?: string; exitCode?: number; message?: string };
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface ContainerSpec {
  name?: string;
  image?: string;
  command?: string[];
}

const IMAGE_PULL = new Set(['ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName']);

const FATAL_WAITING: Record<string, string> = {
  CrashLoopBackOff: 'the container keeps exiting: check its command (--command) and `kubectl logs --previous`.',
  CreateContainerConfigError: 'a ConfigMap, Secret or key the container needs is missing: kubectl describe pod shows which.',
  CreateContainerError: 'the runtime could not create the container: kubectl describe pod shows why.',
  RunContainerError: 'the runtime could not start the container: kubectl describe pod shows why.',
};

/** The runtime's words when the container's program is not in the image (runc, crun, containerd). */
const NO_SUCH_PROGRAM = /exec: "([^"]+)": (?:stat [^:]+: )?no such file or directory|executable file not found|exec: "([^"]+)": permission denied/;
/** The kubelet's words when the pod demands runAsNonRoot and the image's user is root or not numeric. */
const RUNS_AS_ROOT = /runAsNonRoot and image will run as root|runAsNonRoot and image has non-numeric user|cannot verify user is non-root/;

function sameCommand(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The flag that sets this container's image. */
function imageFlag(name: string): string {
  return name === SIDECAR_CONTAINER ? '--sidecar-image' : '--image';
}

/**
 * Why a container cannot run, from the kubelet's reason and message (in its state, or in its
 * last state while it backs off), with what to pass instead; undefined when it may still come up.
 */
function containerFailure(name: string, cs: ContainerStatus | undefined, spec: ContainerSpec | undefined): { reason: string; hint: string } | undefined {
  const waiting = cs?.state?.waiting;
  const terminated = cs?.state?.terminated;
  const last = cs?.lastState?.terminated;
  const image = spec?.image ?? '?';
  const sidecar = name === SIDECAR_CONTAINER;

  if (waiting?.reason && IMAGE_PULL.has(waiting.reason)) {
    const cause = waiting.message ? `: ${waiting.message}` : '';
    const why = waiting.reason === 'InvalidImageName' ? `image "${image}" is not a valid image reference` : `the node cannot pull image "${image}" (${waiting.reason}${cause})`;
    return {
      reason: `container ${name}: ${why}`,
      hint: `pass ${imageFlag(name)} with an image the cluster's nodes can pull (check the name and tag; a private registry needs imagePullSecrets on the pod or its service account)${sidecar ? ', with /bin/sh and /bin/syncthing' : ''}.`,
    };
  }

  // The program to run is not in the image: runc reports it when it starts the container (in the
  // last state while the kubelet backs off).
  const startMessage = [terminated?.message, waiting?.message, waiting ? last?.message : undefined].find((m) => m !== undefined && NO_SUCH_PROGRAM.test(m));
  if (startMessage !== undefined) {
    const program = spec?.command?.[0] ?? '?';
    if (sidecar) {
      return { reason: `container ${name} cannot start: image "${image}" has no ${program} (${startMessage})`, hint: 'pass --sidecar-image with an image that has /bin/sh and /bin/syncthing (the default sidecar image has both).' };
    }
    if (program === '/bin/sh') {
      const whose = sameCommand(spec?.command, DEFAULT_COMMAND) ? 'the default dev command (a /bin/sh script that blocks)' : 'its command (--command runs with /bin/sh -c)';
      return {
        reason: `container ${name} cannot start: image "${image}" has no /bin/sh, which ${whose} needs (${startMessage})`,
        hint: `pass --image with an image that has /bin/sh (the app's build or debug image, or busybox), or, to keep image "${image}", give the dev config (.kubectl-dev.yaml) a command as a list, which runs without a shell: a program of that image that blocks.`,
      };
    }
    return { reason: `container ${name} cannot start: its command ${program} is not in image "${image}" (${startMessage})`, hint: `pass --command with a program image "${image}" has, or --image with an image that has ${program}.` };
  }

  if (waiting?.reason === 'CreateContainerConfigError' && waiting.message && RUNS_AS_ROOT.test(waiting.message)) {
    return {
      reason: `container ${name}: the pod requires runAsNonRoot and image "${image}" runs as root (${waiting.message})`,
      hint: sidecar
        ? 'the sidecar sets its own runAsUser; something replaced it: check the pod\'s admission webhooks.'
        : `pass --image with an image whose USER is a numeric non-root uid, or give the container a runAsUser in the workload (dev mode keeps it when the pod must run as non-root).`,
    };
  }

  if (waiting?.reason && waiting.reason in FATAL_WAITING) {
    return { reason: `container ${name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`, hint: FATAL_WAITING[waiting.reason] as string };
  }
  if (terminated && terminated.reason !== 'Completed') {
    return { reason: `container ${name} exited: ${terminated.reason ?? ''} (exit code ${terminated.exitCode ?? '?'})${terminated.message ? `: ${terminated.message}` : ''}`, hint: 'check its command (--command) and kubectl logs.' };
  }
  return undefined;
}

/** The dev pod's persistent claim as read beside it: its phase, and its latest Warning event. */
export interface ClaimFacts {
  name: string;
  namespace: string;
  phase?: string;
  warning?: { reason: string; message: string };
}

/**
 * Why a pod that uses the workload's claim waits or fails because of it: the claim is not bound
 * (failed when the provisioner said why — a StorageClass that does not exist, a size refused —,
 * waiting otherwise), or the init container could not make the persisted directories.
 */
function claimHealth(claim: ClaimFacts | undefined, initStatuses: readonly ContainerStatus[], unschedulable: string | undefined): PodHealth | undefined {
  if (!claim) return undefined;
  const kept = 'the claim is kept across end and start, with its class: end with --delete-volumes before starting again';
  if (claim.phase !== 'Bound') {
    if (claim.warning) {
      return {
        state: 'failed', reason: `PersistentVolumeClaim ${claim.name} cannot bind: ${claim.warning.reason}: ${claim.warning.message}`,
        hint: `pass --persist-class with a StorageClass of this cluster (kubectl get storageclass), or none for the default one (kubectl describe pvc ${claim.name} -n ${claim.namespace} says more); ${kept}.`,
      };
    }
    // The scheduler's own words when the pod waits for this claim (else the pod's other reasons come first).
    if (unschedulable !== undefined && !/persistentvolumeclaim/i.test(unschedulable)) return undefined;
    return { state: 'waiting', reason: `PersistentVolumeClaim ${claim.name} is ${claim.phase ?? 'being created'}: waiting for its volume` };
  }
  const init = initStatuses.find((s) => s.name === VOLUME_INIT_CONTAINER);
  const failed = init?.state?.terminated?.exitCode ? init.state.terminated : init?.state?.waiting?.reason === 'CrashLoopBackOff' ? init.lastState?.terminated : undefined;
  if (failed) {
    return {
      state: 'failed', reason: `init container ${VOLUME_INIT_CONTAINER} could not make the persisted directories on PersistentVolumeClaim ${claim.name} (exit code ${failed.exitCode ?? '?'}${failed.message ? `: ${failed.message.trim()}` : ''})`,
      hint: `the claim's file system must let root (uid 0, no capabilities) create directories, which an NFS export with root_squash does not: pass --persist-class with another StorageClass; ${kept}.`,
    };
  }
  return undefined;
}

/** Classifies a pod for the containers that must be ready (the dev container and the sidecar), and its persistent claim. */
export function podHealth(pod: KubeObject, containers: readonly string[], claim?: ClaimFacts): PodHealth {
  const status = (pod.status ?? {}) as { phase?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[]; reason?: string; message?: string };
  const specs = ((pod.spec as { containers?: ContainerSpec[] } | undefined)?.containers ?? []);
  if (pod.metadata?.deletionTimestamp) return { state: 'waiting', reason: 'being deleted' };
  if (status.phase === 'Succeeded') {
    return { state: 'failed', reason: 'the dev pod exited: its PID 1 ended', hint: 'the dev container must block (the default is tail -f /dev/null); check --command.' };
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  const unschedulable = scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? scheduled.message ?? '' : undefined;
  const ofClaim = claimHealth(claim, status.initContainerStatuses ?? [], unschedulable);
  if (ofClaim) return ofClaim;
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'failed', reason: `pod cannot be scheduled: ${scheduled.message ?? 'no node fits'}`, hint: 'free or add capacity, or relax the pod\'s nodeSelector, affinity or resource requests.' };
  }
  const statuses = status.containerStatuses ?? [];
  // The containers first: a pod that failed (restartPolicy Never) says why only there.
  for (const name of containers) {
    const failure = containerFailure(name, statuses.find((s) => s.name === name), specs.find((s) => s.name === name));
    if (failure) return { state: 'failed', ...failure };
  }
  if (status.phase === 'Failed') {
    return { state: 'failed', reason: `pod failed: ${status.reason ?? ''} ${status.message ?? ''}`.trim(), hint: 'kubectl describe pod shows why; fix it and run start again.' };
  }
  const ready = containers.every((name) => statuses.find((s) => s.name === name)?.ready === true);
  if (ready && status.phase === 'Running') return { state: 'ready' };
  const pending = containers.filter((name) => statuses.find((s) => s.name === name)?.ready !== true);
  return { state: 'waiting', reason: status.phase === 'Running' ? `waiting for ${pending.join(', ')} to be ready` : `pod is ${status.phase ?? 'being created'}` };
}
