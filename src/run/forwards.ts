// App port forwards (-p/--forward, the dev config's `forward:`): local listeners whose
// connections become client-node port-forward streams to the dev pod, through the
// same forwarder as sync — so they follow the dev pod when it is replaced.

import { createServer } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { DevError } from '../core/errors.ts';
import { listenAddresses, type ForwardSpec } from '../config/forward-spec.ts';
import { clientNodePortForward, PodPortForwarder, type PodFinder, type PortForwardFn } from '../kube/port-forward.ts';

export interface OpenForward {
  spec: ForwardSpec;
  address: string;
  local: number;
  remote: number;
}

export interface Forwards {
  readonly open: readonly OpenForward[];
  /** The last problem of any forward (no dev pod, nothing listening in the container, …). */
  lastError(): string | undefined;
  close(): Promise<void>;
}

export interface ForwardsInput {
  kc: KubeConfig;
  namespace: string;
  finder: PodFinder;
  specs: readonly ForwardSpec[];
  /** As kubectl port-forward's --address: IPs or "localhost" (127.0.0.1 and ::1). */
  addresses: readonly string[];
  portForward?: PortForwardFn;
  onError?: (message: string) => void;
  /** Every stream attempt (KUBECTL_DEV_DEBUG). */
  onDebug?: (message: string) => void;
}

export async function openForwards(input: ForwardsInput): Promise<Forwards> {
  const portForward = input.portForward ?? clientNodePortForward(input.kc);
  const hosts = listenAddresses(input.addresses);
  const forwarders: PodPortForwarder[] = [];
  const open: OpenForward[] = [];
  let lastError: string | undefined;
  const close = async () => {
    await Promise.all(forwarders.map((f) => f.close()));
  };
  try {
    for (const spec of input.specs) {
      // ":REMOTE" picks a free port on the first address; the others use the same one.
      let local = spec.local;
      for (const { host, optional } of hosts) {
        let listening = false; // a failed listen is reported by the error thrown below, not as an event
        const forwarder = new PodPortForwarder({
          namespace: input.namespace, podPort: spec.remote, finder: input.finder, portForward,
          // A connection refused while the app restarts (nothing listens) waits for it (up to holdMs)
          // instead of failing at once, tried again every 10 ms: an app answers within a stream's
          // round trip of listening. One the app accepted is never sent again (kube/forwarded-connection.ts).
          holdMs: 10_000, retryMs: 10,
          events: {
            ...(input.onDebug ? { onDebug: input.onDebug } : {}),
            onError: (message) => {
              if (!listening) return;
              lastError = message;
              input.onError?.(message);
            },
          },
        });
        try {
          local = await forwarder.listen(local, host);
          listening = true;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
          throw portError(code, spec, host, local, error as Error);
        }
        forwarders.push(forwarder);
        open.push({ spec, address: host, local, remote: spec.remote });
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { open, lastError: () => lastError, close };
}

/** "127.0.0.1:8080 → 9080" lines for the user. */
export function describeForwards(open: readonly OpenForward[]): string[] {
  return open.map((f) => `forwarding ${f.address.includes(':') ? `[${f.address}]` : f.address}:${f.local} → ${f.remote}`);
}

/**
 * Fails with PORT_IN_USE when a fixed local port cannot be bound now — checked by
 * `start` before it changes the cluster, so a busy port stops it with nothing changed.
 */
export async function checkLocalPorts(specs: readonly ForwardSpec[], addresses: readonly string[]): Promise<void> {
  for (const spec of specs) {
    if (spec.local === 0) continue;
    for (const { host, optional } of listenAddresses(addresses)) {
      const server = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(spec.local, host, () => resolve());
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
        throw portError(code, spec, host, spec.local, error as Error);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  }
}

function portError(code: string | undefined, spec: ForwardSpec, host: string, local: number, error: Error): DevError {
  if (code === 'EADDRINUSE') {
    return new DevError('PORT_IN_USE', `local port ${local} on ${host} is already in use (forward ${spec.text})`,
      `stop what uses it (e.g. lsof -i :${local}), or pick another local port: -p ${local + 1}:${spec.remote}, or -p :${spec.remote} for a free one.`);
  }
  if (code === 'EACCES') {
    return new DevError('PORT_IN_USE', `local port ${local} on ${host} needs privileges (forward ${spec.text})`, 'use a local port above 1023, or :REMOTE for a free one.');
  }
  return new DevError('INVALID_OPTION', `cannot listen on ${host}:${local} (forward ${spec.text}): ${error.message}`, 'check --address and the local port.');
}
