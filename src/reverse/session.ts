// One agent session with one dev pod: the bootstrap exec in the sync sidecar (bootstrap.ts),
// the agent copied in when it is not there yet, its HELLO, then frames both ways through the
// multiplexer (mux.ts) until the exec ends. Every refusal is a DevError saying what is missing.

import type { Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { DevError } from '../core/errors.ts';
import type { ReverseSpec } from '../config/forward-spec.ts';
import { exitCodeOf, type ExecFn, type ExecSocket } from '../kube/exec.ts';
import { closeWebSocket, describeKubeError } from '../kube/websocket.ts';
import type { AgentBinary } from './agent-binary.ts';
import { agentFileName, agentTar, answerHandshake, bootstrapCommand, parseHandshake, type Handshake } from './bootstrap.ts';
import { encodeFrame, FRAME, FrameDecoder, HELLO_TEXT, type Frame } from './frames.ts';
import { ReverseMux } from './mux.ts';

export interface AgentSessionOptions {
  exec: ExecFn;
  namespace: string;
  pod: string;
  /** The sync sidecar: it shares the pod's loopback and has a writable emptyDir. */
  container: string;
  specs: readonly ReverseSpec[];
  /** The agent for the pod's machine (`uname -m`, empty without uname); throws a DevError when there is none. */
  agentFor(machine: string): Promise<AgentBinary>;
  /** A fresh name for the install's temporary directory. */
  tmpName: string;
  dial(port: number): Socket;
  onError(message: string): void;
  debug?(message: string): void;
  /** How long the handshake and the agent's HELLO may take (default 30 s). */
  startMs?: number;
  /** A keep-alive every this often; no frame for 3× as long ends the session (default 5 s: a deleted pod's exec may stay open). */
  pingMs?: number;
}

export interface AgentSession {
  readonly mux: ReverseMux;
  /** Why the session ended (the exec closed, the agent stopped answering, close()). */
  readonly ended: Promise<string>;
  close(why?: string): void;
}

/** What the exec's stdout carries: the handshake line, then frames. */
class AgentOutput {
  readonly decoder = new FrameDecoder();
  line = '';
  lineDone = false;
  heardAt = Date.now();
  private readonly onLine: (line: string) => void;
  private readonly onFrames: (frames: Frame[]) => void;
  private readonly fail: (why: string) => void;
  constructor(onLine: (line: string) => void, onFrames: (frames: Frame[]) => void, fail: (why: string) => void) {
    this.onLine = onLine;
    this.onFrames = onFrames;
    this.fail = fail;
  }

  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      this.heardAt = Date.now();
      let rest = chunk;
      if (!this.lineDone) {
        const newline = chunk.indexOf(0x0a);
        this.line += chunk.toString('utf8', 0, newline < 0 ? chunk.length : newline);
        if (newline < 0) {
          if (this.line.length > 4096) this.fail('the bootstrap script printed no handshake line');
          return callback();
        }
        this.lineDone = true;
        this.onLine(this.line);
        rest = chunk.subarray(newline + 1);
      }
      try {
        if (rest.length > 0) this.onFrames(this.decoder.push(rest));
      } catch (error) {
        this.fail(`the agent's output: ${(error as Error).message}`);
      }
      callback();
    },
  });
}

/** Starts the agent in `pod`; resolves once it listens on every REMOTE port. */
export async function openAgentSession(o: AgentSessionOptions): Promise<AgentSession> {
  const where = `pod ${o.pod}, container ${o.container}`;
  let endWith!: (why: string) => void;
  const ended = new Promise<string>((resolve) => (endWith = resolve));
  let finished = false;
  let stderrText = '';
  let socket: ExecSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stdin = new PassThrough();
  const mux = new ReverseMux({ send: (frame) => stdin.write(frame), dial: o.dial, onError: o.onError }, (remote) => o.specs.find((s) => s.remote === remote)?.local);
  const finish = (why: string) => {
    if (finished) return;
    finished = true;
    clearInterval(timer);
    mux.close();
    closeWebSocket(socket, 0);
    endWith(why);
  };
  let started!: (result: DevError | undefined) => void;
  const startResult = new Promise<DevError | undefined>((resolve) => (started = resolve));
  const failStart = (error: DevError) => {
    started(error);
    finish(error.message);
  };
  const onFrames = (frames: Frame[]) => {
    for (const frame of frames) {
      if (frame.type === FRAME.hello) {
        if (frame.payload.toString('utf8') !== HELLO_TEXT) failStart(new DevError('REVERSE_FAILED', `the agent in ${where} speaks "${frame.payload.toString('utf8')}", not ${HELLO_TEXT}`, 'report this as a bug.'));
        else started(undefined);
      } else if (frame.type === FRAME.error) {
        failStart(agentError(frame.payload.toString('utf8'), where, o.specs));
      } else if (frame.type !== FRAME.pong) mux.receive(frame);
    }
  };
  const onLine = (line: string) => void answer(line).catch((error: unknown) => failStart(error instanceof DevError ? error : new DevError('REVERSE_FAILED', `starting the agent in ${where}: ${(error as Error).message}`, 'try again; KUBECTL_DEV_DEBUG=1 shows each step.')));
  const output = new AgentOutput(onLine, onFrames, (why) => failStart(new DevError('REVERSE_FAILED', `${where}: ${why}`, 'report this as a bug.')));
  const answer = async (line: string) => {
    const handshake = parseHandshake(line);
    if (!handshake) throw new DevError('REVERSE_UNAVAILABLE', `the sync sidecar in ${where} did not run the reverse-forward bootstrap (it printed "${line.slice(0, 120)}")`, 'the sidecar image needs a POSIX sh; use the default --sidecar-image.');
    const agent = await o.agentFor(handshake.machine);
    const name = agentFileName(agent.sha256);
    const tar = handshake.have.includes(name) ? Buffer.alloc(0) : agentTar(agent.bytes(), agent.sha256, o.tmpName, Date.now());
    const reply = answerHandshake(handshake, name, tar.length);
    if ('refuse' in reply) throw new DevError('REVERSE_UNAVAILABLE', `${reply.refuse} (${where})`, 'use a sidecar image with a POSIX sh, tar, dd and mv (the default --sidecar-image has them), or leave out -R/--reverse.');
    o.debug?.(`reverse: ${where}: ${describeHandshake(handshake)}; ${reply.install ? `installing ${name} (${tar.length} bytes)` : `running ${name}`}`);
    stdin.write(reply.line);
    if (reply.install) stdin.write(tar);
  };
  try {
    socket = await o.exec({
      namespace: o.namespace, pod: o.pod, container: o.container, command: bootstrapCommand(o.tmpName, o.specs.map((s) => s.remote)),
      stdout: output.stream, stderr: new Writable({ write: (c: Buffer, _e, cb) => { if (stderrText.length < 4000) stderrText += c.toString('utf8'); cb(); } }),
      stdin, tty: false, bulk: true,
      onStatus: (status) => {
        const code = exitCodeOf(status);
        const said = stderrText.trim().split('\n').slice(-2).join(' | ');
        failStart(new DevError(code === 0 ? 'REVERSE_FAILED' : 'REVERSE_UNAVAILABLE', `the reverse-forward agent in ${where} ended (exit code ${code})${said ? `: ${said}` : ''}`,
          code === 0 ? 'it is started again with the next dev pod.' : 'the sync sidecar needs a POSIX sh, tar, dd and mv, and a Linux amd64 or arm64 node.'));
      },
    });
  } catch (error) {
    throw new DevError('REVERSE_FAILED', `exec in ${where} for the reverse forwards: ${describeKubeError(error)}`, 'check that you may create pods/exec in this namespace (kubectl dev doctor).');
  }
  socket.on('close', () => failStart(new DevError('REVERSE_FAILED', `the exec session of the reverse forwards in ${where} closed`, 'it is started again with the dev pod.')));
  socket.on('error', (error) => failStart(new DevError('REVERSE_FAILED', `the exec session of the reverse forwards in ${where}: ${error.message}`, 'it is started again with the dev pod.')));
  const startMs = o.startMs ?? 30_000;
  const startTimer = setTimeout(() => failStart(new DevError('REVERSE_FAILED', `the reverse-forward agent in ${where} did not start within ${startMs / 1000} s${output.lineDone ? '' : ' (no handshake from the bootstrap script)'}`, 'check the sidecar (kubectl logs … -c kubectl-dev-sync) and try again.')), startMs);
  const failure = await startResult;
  clearTimeout(startTimer);
  if (failure) throw failure;
  const pingMs = o.pingMs ?? 5_000;
  timer = setInterval(() => {
    if (Date.now() - output.heardAt > 3 * pingMs) finish(`the agent in ${where} stopped answering`);
    else stdin.write(encodeFrame(FRAME.ping));
  }, pingMs);
  timer.unref();
  return { mux, ended, close: (why = 'closed') => finish(why) };
}

function describeHandshake(h: Handshake): string {
  return `machine ${h.machine || '(no uname)'}${h.missing.length ? `, lacks ${h.missing.join(', ')}` : ''}, ${h.have.length} agent(s) installed`;
}

/** The agent's ERROR frame: a port it could not listen on. */
function agentError(text: string, where: string, specs: readonly ReverseSpec[]): DevError {
  const port = /127\.0\.0\.1:(\d+)/.exec(text)?.[1];
  if (/address already in use/.test(text) && port) {
    const spec = specs.find((s) => String(s.remote) === port);
    return new DevError('PORT_IN_USE', `port ${port} on the dev pod's loopback is already in use (reverse forward ${spec?.text ?? port}; ${where})`,
      `something in the pod listens on ${port} (syncthing uses 8384 and 22000): pick another REMOTE port, e.g. -R ${Number(port) + 1}:${spec?.local ?? port}.`);
  }
  return new DevError('REVERSE_FAILED', `the reverse-forward agent in ${where}: ${text}`, 'pick other REMOTE ports, or report this as a bug.');
}
