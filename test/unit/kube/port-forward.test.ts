// The port-forward listener's own logic with a hand-written stream in place of
// the API server (the real path is in test/e2e/sync-*.test.ts).
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isRefusedBeforeAccept, PodPortForwarder, type PodFinder, type PortForwardFn } from '../../../src/kube/port-forward.ts';
import { until } from '../sync/support.ts';

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
      setTimeout(() => err.write(Buffer.from(`error forwarding port ${port} to pod ${pod}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-1": failed to connect to localhost:${port} inside namespace "abc", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `)), 5);
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

});

// Issue 17, point 2: a connection is sent again only when nothing behind the pod's port saw it.
describe('app port forwards never send a connection twice', () => {
  const REFUSED = (port: number) => `error forwarding port ${port} to pod web-1, uid : failed to execute portforward in network namespace "/var/run/netns/cni-1": failed to connect to localhost:${port} inside namespace "abc", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `;

  /** A pod whose app sees `requests` (one entry per connection it accepted, with what it read); `refuse` attempts are refused by the runtime. */
  function appPod(o: { refuse?: number; answerAfterMs?: number; reset?: boolean; sink?: boolean }) {
    const requests: string[] = [];
    let attempts = 0;
    let received = 0;
    const forward: PortForwardFn = async (_ns, _pod, port, output, err, input) => {
      attempts++;
      const ws = new FakeWs();
      if (attempts <= (o.refuse ?? 0)) {
        setTimeout(() => {
          err.write(Buffer.from(REFUSED(port)));
          ws.close();
        }, 5);
        return ws;
      }
      const at = requests.push('') - 1;
      input.on('data', (d: Buffer) => {
        received += d.length;
        if (!o.sink) requests[at] += d.toString();
      });
      if (o.reset) {
        setTimeout(() => {
          err.write(Buffer.from(`error forwarding port ${port} to pod web-1, uid : failed to execute portforward in network namespace "x": read tcp4 127.0.0.1:40000->127.0.0.1:${port}: read: connection reset by peer`));
          ws.close();
        }, 500);
      } else if (o.answerAfterMs !== undefined) {
        setTimeout(() => output.write(Buffer.from(`answer to ${requests[at]}`)), o.answerAfterMs);
      }
      return ws;
    };
    return { forward, requests, attempts: () => attempts, received: () => received };
  }

  it('a handler that answers after 3.5 s (past the old 3 s answer timeout) is called once and its answer arrives', async () => {
    const pod = appPod({ answerAfterMs: 3_500 });
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 8080, finder: finder(['web-1']), portForward: pod.forward, holdMs: 10_000, retryMs: 10 });
    const port = await fwd.listen();
    try {
      expect((await talk(port, 'POST /orders')).reply).toBe('answer to POST /orders');
      expect(pod.requests).toEqual(['POST /orders']);
      expect(pod.attempts()).toBe(1);
    } finally {
      await fwd.close();
    }
  });

  it('a connection refused while the app restarts is tried again, with what the client sent, until the app listens: the app sees it once', async () => {
    const pod = appPod({ refuse: 5, answerAfterMs: 0 });
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 8080, finder: finder(['web-1']), portForward: pod.forward, holdMs: 10_000, retryMs: 10 });
    const port = await fwd.listen();
    try {
      expect((await talk(port, 'GET /')).reply).toBe('answer to GET /');
      expect(pod.attempts()).toBe(6);
      expect(pod.requests).toEqual(['GET /']);
    } finally {
      await fwd.close();
    }
  });

  it('a connection the app accepted and then reset is not sent again: the client\'s connection closes, the error is reported', async () => {
    const pod = appPod({ reset: true });
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 8080, finder: finder(['web-1']), portForward: pod.forward, holdMs: 10_000, retryMs: 10 });
    const port = await fwd.listen();
    try {
      expect(await talk(port, 'POST /pay')).toEqual({ reply: '', closed: true });
      expect(pod.attempts()).toBe(1);
      expect(pod.requests).toEqual(['POST /pay']);
      expect(fwd.lastError).toMatch(/connection reset by peer/);
    } finally {
      await fwd.close();
    }
  });

  it('an upload to an app that answers only at the end keeps at most 1 MiB of it (back-pressure), with no retry', async () => {
    const pod = appPod({ sink: true });
    const fwd = new PodPortForwarder({ namespace: 'ns', podPort: 8080, finder: finder(['web-1']), portForward: pod.forward, holdMs: 10_000, retryMs: 10 });
    const port = await fwd.listen();
    const total = 256 * 1024 ** 2;
    try {
      const rssBefore = process.memoryUsage.rss();
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
      await new Promise<void>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        const block = Buffer.alloc(1024 * 1024, 7);
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += block.length;
            if (!s.write(block)) return void s.once('drain', pump);
          }
        };
        s.on('connect', pump);
        s.on('error', reject);
        void until('the app has it all', () => pod.received() >= total, 120_000, 20).then(() => {
          s.destroy();
          resolve();
        }, reject);
      });
      clearInterval(sampler);
      expect(pod.attempts()).toBe(1);
      // The old listener kept every byte sent before the first answer (256 MiB here), and sent it all again after 3 s of silence.
      expect((peak - rssBefore) / 2 ** 20).toBeLessThan(96);
    } finally {
      await fwd.close();
    }
  });

  it('tells a refusal before the app had the connection from a failure after it', () => {
    expect(isRefusedBeforeAccept(REFUSED(8080))).toBe(true);
    expect(isRefusedBeforeAccept('error forwarding port 8080 to pod p, uid : network namespace for sandbox "x" is closed')).toBe(true);
    expect(isRefusedBeforeAccept('error forwarding port 8080 to pod p, uid : failed to execute portforward in network namespace "x": read tcp4 1->2: read: connection reset by peer')).toBe(false);
    expect(isRefusedBeforeAccept('error forwarding port 8080 to pod p, uid : failed to execute portforward in network namespace "x": write tcp4 1->2: write: broken pipe')).toBe(false);
    expect(isRefusedBeforeAccept('something else')).toBe(false);
  });
});
