// The tunnels' dev-pod finder: which pod the port-forwards go to.
import { describe, expect, it } from 'vitest';
import { pickDevPod } from '../../../src/sync/dev-pod-finder.ts';

describe('the dev-pod finder', () => {
  it('picks the newest running, ready pod that is not terminating', () => {
    const pod = (name: string, created: string, opts: { phase?: string; ready?: boolean; deleting?: boolean } = {}) => ({
      metadata: { name, creationTimestamp: new Date(created), ...(opts.deleting ? { deletionTimestamp: new Date() } : {}) },
      status: { phase: opts.phase ?? 'Running', conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
    });
    expect(pickDevPod([pod('a', '2024-01-01'), pod('b', '2024-01-02')] as never)?.metadata?.name).toBe('b');
    expect(pickDevPod([pod('a', '2024-01-01'), pod('b', '2024-01-02', { deleting: true })] as never)?.metadata?.name).toBe('a');
    expect(pickDevPod([pod('a', '2024-01-01', { ready: false }), pod('b', '2024-01-02', { phase: 'Pending' })] as never)).toBeUndefined();
  });
});
