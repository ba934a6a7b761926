// The runner's exec: the exec edge (src/kube/exec.ts) as the runner uses it — no TTY, stdin
// only when given (a standby start, released by a line on it); the end is the exit code from
// the status channel, or "lost" when the connection closes without one (the pod went away,
// the API server dropped it).

import type { KubeConfig } from '@kubernetes/client-node';
import { clientNodeExec as kubeExec, exitCodeOf, type ExecFn as KubeExecFn, type ExecSocket } from '../kube/exec.ts';
import { closeWebSocket, describeKubeError } from '../kube/websocket.ts';
import type { ExecEnd, ExecFn } from './runner.ts';

/** The runner's exec in `namespace` on top of `exec`. */
export function runnerExec(exec: KubeExecFn, namespace: string): ExecFn {
  return async (pod, container, argv, out, stdin) => {
    let settle!: (end: ExecEnd) => void;
    let settled = false;
    const exited = new Promise<ExecEnd>((resolve) => (settle = (end) => {
      if (!settled) {
        settled = true;
        resolve(end);
      }
    }));
    let socket: ExecSocket;
    try {
      socket = await exec({
        namespace, pod, container, command: argv, stdout: out.stdout, stderr: out.stderr, stdin: stdin ?? null, tty: false,
        onStatus: (status) => settle({ kind: 'exited', code: exitCodeOf(status) }),
      });
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

/** The runner's exec through client-node. */
export function clientNodeExec(kc: KubeConfig, namespace: string): ExecFn {
  return runnerExec(kubeExec(kc), namespace);
}
