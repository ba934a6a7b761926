// The port-forward listener's own logic with a hand-written stream in place of
// the API server (the real path is in test/e2e/sync-*.test.ts).
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pickDevPod, PodPortForwarder, type PodFinder, type PortForwardFn } from '../../../src/sync/portforward.ts';
import { until } from './support.ts';

class FakeWs extends EventEmitter {
  bufferedAmount = 0;
  readyState = 1;
  closed = false;
  close() {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    this.emit('close');
  }
  terminate() {
    this.close();
  }
}

/** A "pod" that echoes with a prefix, reached through FakeWs streams. */
function echoForward(calls: string[], behaviour: (pod: string) => 'ok' | 'reject' | 'error-channel' = () => 'ok'): PortForwardFn {
  return async (_ns, pod, port, output: Writable, err: Writable, input: PassThrough) => {
    calls.push(`${pod}:${port}`);
    const how = behaviour(pod);
    if (how === 'reject') throw Object.assign(new Error('HTTP 404'), { code: 404, body: '{"message":"pods \\"gone\\" not found"}' });
    const ws = new FakeWs();
    if (how === 'error-channel') {
      setTimeout(() => err.write(Buffer.from(`error forwarding port ${port} to pod ${pod}: connection refused`)), 5);
      return ws;
    }
    input.on('data', (d: Buffer) => output.write(Buffer.from(`${pod}:${d.toString()}`)));
    input.on('end', () => ws.close());
    return ws;
  };
}

function finder(pods: Array<string | undefined>): PodFinder & { lastProblem?: string } {
  let i = 0;
  return {
    lastProblem: undefined,
    async find() {
      const pod = pods[Math.min(i++, pods.length - 1)];
      this.lastProblem = pod ? undefined : 'no ready dev pod with label x=y: web-1 (Pending)';
      return pod ? { name: pod } : undefined;
    },
  };
}

function talk(port: number, msg: string): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(msg));
    let reply = '';
    s.on('data', (d) => {
      reply += d.toString();
      s.end();
    });
    s.on('error', () => {});
    s.on('close', () => resolve({ reply, closed: true }));
  });
}

describe('port-forward listener', () => {
  it('forwards each connection to the dev pod, and to the new pod after it is replaced', async () => {
    const calls: string[] = [];
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 22000, finder: finder(['web-1', 'web-1', 'web-2']), portForward: echoForward(calls, (pod) => (pod === 'web-1' && calls.length > 1 ? 'reject' : 'ok')) });
    const port = await fwd.listen();
    try {
      expect((await talk(port, 'hello')).reply).toBe('web-1:hello');
      // web-1 is gone: the stream fails before the pod answered, so the same connection is
      // retried on the pod found next (web-2), with what the client had sent replayed.
      expect((await talk(port, 'again')).reply).toBe('web-2:again');
      expect(fwd.lastError).toMatch(/port-forward to web-1:22000: HTTP 404: pods "gone" not found/);
      expect((await talk(port, 'third')).reply).toBe('web-2:third');
      expect(calls).toEqual(['web-1:22000', 'web-1:22000', 'web-2:22000', 'web-2:22000']);
    } finally {
      await fwd.close();
    }
  });

  it('retries, then closes the socket when the error channel keeps reporting a failure', async () => {
    const calls: string[] = [];
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 8384, finder: finder(['web-1']), portForward: echoForward(calls, () => 'error-channel'), holdMs: 1_000 });
    const port = await fwd.listen();
    try {
      expect(await talk(port, 'x')).toEqual({ reply: '', closed: true });
      // Retried (the sidecar may still be starting) until the hold time ran out.
      expect(calls.length).toBeGreaterThan(1);
      await until('error recorded', () => fwd.lastError);
      expect(fwd.lastError).toMatch(/connection refused/);
    } finally {
      await fwd.close();
    }
  });

  it('holds a connection while no dev pod is ready, then gives up with the reason', async () => {
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 22000, finder: finder([undefined]), portForward: echoForward([]), holdMs: 600 });
    const port = await fwd.listen();
    try {
      const started = Date.now();
      expect(await talk(port, 'x')).toEqual({ reply: '', closed: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(fwd.lastError).toMatch(/no ready dev pod .*web-1 \(Pending\)/);
    } finally {
      await fwd.close();
    }
  });

  it('closes a stream that finished opening after its client hung up (an open one would keep the process alive)', async () => {
    let opened!: (ws: FakeWs) => void;
    const late = new FakeWs();
    const started: string[] = [];
    const slowForward: PortForwardFn = (_ns, pod) => {
      started.push(pod);
      return new Promise((resolve) => (opened = resolve));
    };
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 8384, finder: finder(['web-1']), portForward: slowForward });
    const port = await fwd.listen();
    try {
      const client = net.connect(port, '127.0.0.1');
      await until('the stream is opening', () => started.length === 1);
      client.destroy();
      await until('the listener saw the hang-up', () => (fwd as unknown as { sockets: Set<unknown> }).sockets.size === 0);
      opened(late);
      await until('the late stream is closed', () => late.closed);
      expect(fwd.activeStreams).toBe(0);
      expect(fwd.streams).toBe(0);
    } finally {
      await fwd.close();
    }
  });

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
