// The runner's exec edge: client-node's Exec (WebSocket through the API server), no TTY,
// stdin only when given (a standby start, released by a line on it); the end is the exit
// code from the status channel, or "lost" when the connection closes without one (the pod
// went away, the API server dropped it).

import { Exec, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../sync/portforward.ts';
import { exitCodeOf } from '../live/exec.ts';
import { closeWebSocket } from '../kube/websocket.ts';
import type { ExecEnd, ExecFn } from './runner.ts';

export function clientNodeExec(kc: KubeConfig, namespace: string): ExecFn {
  const exec = new Exec(kc);
  return async (pod, container, argv, out, stdin) => {
    let settle!: (end: ExecEnd) => void;
    let settled = false;
    const exited = new Promise<ExecEnd>((resolve) => (settle = (end) => {
      if (!settled) {
        settled = true;
        resolve(end);
      }
    }));
    let socket;
    try {
      socket = await exec.exec(namespace, pod, container, argv, out.stdout, out.stderr, stdin ?? null, false, (status) => settle({ kind: 'exited', code: exitCodeOf(status) }));
    } catch (error) {
      throw new Error(describeKubeError(error));
    }
    // The status frame comes just before the close; give it a moment.
    socket.on('close', () => setTimeout(() => settle({ kind: 'lost', why: 'the exec connection closed' }), 200));
    socket.on('error', (error: Error) => settle({ kind: 'lost', why: error.message }));
    return {
      exited,
      close: () => closeWebSocket(socket),
    };
  };
}
