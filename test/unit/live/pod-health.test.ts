// How a dev pod's status reads: ready, waiting, or failed with a reason and a hint.

import { describe, expect, it } from 'vitest';
import { DEFAULT_COMMAND } from '../../../src/core/settings.ts';
import { podHealth } from '../../../src/live/pod-health.ts';

const pod = (status: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...metadata }, status });
const running = (name: string, ready: boolean, state: Record<string, unknown> = { running: {} }) => ({ name, ready, state });
const containers = ['app', 'kubectl-dev-sync'];

describe('podHealth', () => {
  it('is ready when the pod runs and both containers are ready', () => {
    expect(podHealth(pod({ phase: 'Running', containerStatuses: [running('app', true), running('kubectl-dev-sync', true)] }), containers)).toEqual({ state: 'ready' });
  });

  it('waits while a container is not ready, or the pod is pending or being deleted', () => {
    expect(podHealth(pod({ phase: 'Running', containerStatuses: [running('app', true), running('kubectl-dev-sync', false)] }), containers)).toMatchObject({ state: 'waiting', reason: expect.stringContaining('kubectl-dev-sync') });
    expect(podHealth(pod({ phase: 'Pending' }), containers)).toMatchObject({ state: 'waiting' });
    expect(podHealth(pod({ phase: 'Running' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }), containers)).toMatchObject({ state: 'waiting', reason: 'being deleted' });
  });

  it.each([
    ['ImagePullBackOff', /--image/],
    ['ErrImagePull', /--image/],
    ['CrashLoopBackOff', /--command/],
    ['CreateContainerConfigError', /ConfigMap, Secret/],
  ])('fails on %s with a hint', (reason, hint) => {
    const health = podHealth(pod({ phase: 'Pending', containerStatuses: [running('app', false, { waiting: { reason, message: 'details' } })] }), containers);
    expect(health.state).toBe('failed');
    if (health.state === 'failed') {
      expect(health.reason).toContain(reason);
      expect(health.reason).toContain('details');
      expect(health.hint).toMatch(hint);
    }
  });

  it('fails when the pod cannot be scheduled, has failed, or has exited', () => {
    expect(podHealth(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available' }] }), containers)).toMatchObject({ state: 'failed', reason: expect.stringContaining('0/2 nodes') });
    expect(podHealth(pod({ phase: 'Failed', reason: 'Evicted' }), containers)).toMatchObject({ state: 'failed', reason: expect.stringContaining('Evicted') });
    expect(podHealth(pod({ phase: 'Succeeded' }), containers)).toMatchObject({ state: 'failed', hint: expect.stringContaining('--command') });
    expect(podHealth(pod({ phase: 'Running', containerStatuses: [running('app', false, { terminated: { reason: 'Error', exitCode: 2 } })] }), containers)).toMatchObject({ state: 'failed', reason: expect.stringContaining('exit code 2') });
  });

  // The kubelet's and runc's own words, as a real node (kubelet 1.36, containerd 2.3, runc) gives them.
  const withSpec = (specContainers: Record<string, unknown>[], statuses: Record<string, unknown>[], phase = 'Pending') =>
    ({ ...pod({ phase, containerStatuses: statuses }), spec: { containers: specContainers } });
  const sidecarSpec = { name: 'kubectl-dev-sync', image: 'docker.io/syncthing/syncthing:1.29.2', command: ['/bin/sh', '-c', 'script'] };
  const failed = (health: ReturnType<typeof podHealth>) => {
    expect(health.state).toBe('failed');
    return health as { reason: string; hint: string };
  };

  it('names the container, the image and the cause of a failed pull, and the flag to change', () => {
    const message = 'failed to pull and unpack image "registry.invalid/nope:1": failed to resolve image: no such host';
    const dev = failed(podHealth(withSpec([{ name: 'app', image: 'registry.invalid/nope:1' }, sidecarSpec], [running('app', false, { waiting: { reason: 'ErrImagePull', message } })]), containers));
    expect(dev.reason).toBe(`container app: the node cannot pull image "registry.invalid/nope:1" (ErrImagePull: ${message})`);
    expect(dev.hint).toMatch(/^pass --image with an image the cluster's nodes can pull/);
    const sidecar = failed(podHealth(withSpec([{ name: 'app', image: 'busybox' }, { ...sidecarSpec, image: 'registry.invalid/st:1' }], [running('app', true), running('kubectl-dev-sync', false, { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } })]), containers));
    expect(sidecar.reason).toContain('container kubectl-dev-sync: the node cannot pull image "registry.invalid/st:1"');
    expect(sidecar.hint).toMatch(/^pass --sidecar-image/);
  });

  it('says that the default dev command needs /bin/sh when the image has none, also while the kubelet backs off', () => {
    const message = 'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory';
    const spec = [{ name: 'app', image: 'gcr.io/distroless/static-debian12:nonroot', command: [...DEFAULT_COMMAND] }, sidecarSpec];
    for (const status of [
      { state: { waiting: { reason: 'RunContainerError', message } } },
      { state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } }, lastState: { terminated: { reason: 'StartError', exitCode: 128, message } } },
      { state: { terminated: { reason: 'StartError', exitCode: 128, message } } },
    ]) {
      const health = failed(podHealth(withSpec(spec, [{ name: 'app', ready: false, ...status }]), containers));
      expect(health.reason).toContain('container app cannot start: image "gcr.io/distroless/static-debian12:nonroot" has no /bin/sh, which the default dev command');
      expect(health.hint).toMatch(/--image with an image that has \/bin\/sh/);
      expect(health.hint).toMatch(/command as a list/);
    }
    // A container that runs now is not failed by an old start error.
    expect(podHealth(withSpec(spec, [{ name: 'app', ready: true, state: { running: {} }, lastState: { terminated: { reason: 'StartError', message } } }, running('kubectl-dev-sync', true)], 'Running'), containers)).toEqual({ state: 'ready' });
  });

  it('says that the pod requires runAsNonRoot and the dev image runs as root', () => {
    const message = 'container has runAsNonRoot and image will run as root (pod: "web_ns(uid)", container: app)';
    const health = failed(podHealth(withSpec([{ name: 'app', image: 'node:24', command: [...DEFAULT_COMMAND] }, sidecarSpec], [running('app', false, { waiting: { reason: 'CreateContainerConfigError', message } })]), containers));
    expect(health.reason).toBe(`container app: the pod requires runAsNonRoot and image "node:24" runs as root (${message})`);
    expect(health.hint).toMatch(/--image with an image whose USER is a numeric non-root uid, or give the container a runAsUser/);
  });

  it('reads a failed pod (restartPolicy Never) from its containers first', () => {
    const message = 'exec: "/bin/sh": stat /bin/sh: no such file or directory';
    const health = failed(podHealth(withSpec([{ name: 'app', image: 'distroless', command: [...DEFAULT_COMMAND] }, sidecarSpec], [{ name: 'app', ready: false, state: { terminated: { reason: 'StartError', exitCode: 128, message } } }], 'Failed'), containers));
    expect(health.reason).toContain('has no /bin/sh');
  });
});
