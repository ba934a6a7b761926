// How a dev pod's status reads: ready, waiting, or failed with a reason and a hint.

import { describe, expect, it } from 'vitest';
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
});
