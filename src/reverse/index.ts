// Reverse forwards (-R/--reverse REMOTE:LOCAL): a process in the dev container connecting to
// 127.0.0.1:REMOTE reaches this machine's 127.0.0.1:LOCAL, over the API server only. An agent
// session (session.ts) runs in the current dev pod's sync sidecar; when the pod is replaced,
// or the session ends, a new one starts in the dev pod found then.

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { DevError } from '../core/errors.ts';
import { SIDECAR_CONTAINER } from '../core/marks.ts';
import type { ReverseSpec } from '../config/forward-spec.ts';
import type { ClusterApi } from '../kube/api.ts';
import { realClock, type Clock } from '../kube/clock.ts';
import { clientNodeExec, type ExecFn } from '../kube/exec.ts';
import type { PodFinder } from '../kube/port-forward.ts';
import { agentFor, goArch } from './agent-binary.ts';
import { openAgentSession, type AgentSession, type AgentSessionOptions } from './session.ts';

export interface ReverseOptions {
  exec: ExecFn;
  namespace: string;
  finder: PodFinder;
  specs: readonly ReverseSpec[];
  /** The architecture of the pod's node (status.nodeInfo.architecture), for a sidecar without uname. */
  nodeArch(pod: string): Promise<string | undefined>;
  clock?: Clock;
  onError(message: string): void;
  onConnected?(pod: string): void;
  debug?(message: string): void;
  /** How long the first session may take to come up before the command fails (default 60 s). */
  firstMs?: number;
  /** How often the dev pod is looked up again while a session runs (default 2 s). */
  followMs?: number;
  session?: Partial<Pick<AgentSessionOptions, 'startMs' | 'pingMs'>>;
}

export interface ReverseForwards {
  /** Resolves when the first session is up; rejects with why it cannot be (a DevError). */
  readonly ready: Promise<void>;
  /** The pod the current session runs in. */
  readonly pod: string | undefined;
  /** Connections forwarded now, and in all. */
  connections(): { active: number; opened: number };
  close(): Promise<void>;
}

/** The first session's outcome: a promise settled once (later calls are no-ops), never an unhandled rejection. */
function readiness(): { ready: Promise<void>; resolveReady: () => void; rejectReady: (error: unknown) => void } {
  let resolveReady!: () => void;
  let rejectReady!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);
  return { ready, resolveReady, rejectReady };
}

/** An agent session in the sync sidecar of `pod`, with the agent built for its node's architecture. */
function openSessionIn(o: ReverseOptions, pod: string): Promise<AgentSession> {
  return openAgentSession({
    exec: o.exec, namespace: o.namespace, pod, container: SIDECAR_CONTAINER, specs: o.specs, tmpName: `.kubectl-dev-agent-tmp-${randomBytes(6).toString('hex')}`,
    dial: (port) => connect({ host: '127.0.0.1', port, allowHalfOpen: true }),
    onError: o.onError, ...(o.debug ? { debug: o.debug } : {}), ...o.session,
    agentFor: async (machine) => {
      const named = machine || (await o.nodeArch(pod).catch(() => undefined)) || '';
      const arch = goArch(named);
      if (!arch) {
        throw new DevError('REVERSE_UNAVAILABLE', named ? `the dev pod ${pod} runs on ${named}; the reverse-forward agent is built for linux amd64 and arm64 only` : `cannot tell the architecture of the dev pod ${pod}: its sync sidecar has no uname and its node could not be read`,
          named ? 'reverse forwards need a node of one of those architectures.' : 'use a sidecar image with uname (the default --sidecar-image has it), or get permission to read nodes.');
      }
      return agentFor(arch, named);
    },
  });
}

export function startReverseForwards(o: ReverseOptions): ReverseForwards {
  const clock = o.clock ?? realClock;
  const stop = new AbortController();
  let current: AgentSession | undefined;
  let currentPod: string | undefined;
  let opened = 0;
  const { ready, resolveReady, rejectReady } = readiness();
  const sleep = (ms: number) => clock.sleep(ms, stop.signal).catch(() => undefined);

  const openIn = (pod: string) => openSessionIn(o, pod);

  /** Runs `session` until it ends or another dev pod is found. */
  const follow = async (session: AgentSession, pod: string): Promise<void> => {
    let ended = false;
    void session.ended.then((why) => {
      ended = true;
      if (!stop.signal.aborted) o.debug?.(`reverse: session in ${pod} ended: ${why}`);
    });
    while (!ended && !stop.signal.aborted) {
      await Promise.race([session.ended, sleep(o.followMs ?? 2_000)]);
      if (ended || stop.signal.aborted) break;
      const found = await o.finder.find();
      if (found && found.name !== pod) session.close(`the dev pod is now ${found.name}`);
    }
    opened += session.mux.opened;
  };

  const loop = async () => {
    const deadline = clock.now() + (o.firstMs ?? 60_000);
    let up = false;
    while (!stop.signal.aborted) {
      const pod = (await o.finder.find())?.name;
      if (!pod) {
        if (!up && clock.now() >= deadline) return rejectReady(new DevError('SYNC_NO_POD', `no ready dev pod for the reverse forwards: ${o.finder.lastProblem ?? 'none found'}`, 'check the dev pod: kubectl dev status.'));
        await sleep(1_000);
        continue;
      }
      let session: AgentSession;
      try {
        session = await openIn(pod);
      } catch (error) {
        // The first session's refusal is the command's: what is missing does not come back by waiting.
        const refusal = error instanceof DevError && error.code !== 'REVERSE_FAILED';
        if (!up && (refusal || clock.now() >= deadline)) return rejectReady(error);
        if (up) o.onError((error as Error).message);
        await sleep(up ? 2_000 : 1_000);
        continue;
      }
      if (stop.signal.aborted) return session.close();
      current = session;
      currentPod = pod;
      if (!up) resolveReady();
      up = true;
      o.onConnected?.(pod);
      await follow(session, pod);
      current = undefined;
      currentPod = undefined;
    }
  };
  const running = loop().catch((error: unknown) => rejectReady(error));

  return {
    ready,
    get pod() {
      return currentPod;
    },
    connections: () => ({ active: current?.mux.active ?? 0, opened: opened + (current?.mux.opened ?? 0) }),
    close: async () => {
      stop.abort();
      current?.close('stopped');
      rejectReady(new DevError('REVERSE_FAILED', 'stopped', ''));
      await running;
    },
  };
}

/** The node's architecture as the API server reports it (status.nodeInfo.architecture); undefined when it cannot be read. */
function nodeArchOf(cluster: Pick<ClusterApi, 'get'>, namespace: string): (pod: string) => Promise<string | undefined> {
  return async (pod) => {
    const nodeName = ((await cluster.get({ apiVersion: 'v1', kind: 'Pod', name: pod, namespace }))?.spec as { nodeName?: string } | undefined)?.nodeName;
    const node = nodeName ? await cluster.get({ apiVersion: 'v1', kind: 'Node', name: nodeName }) : undefined;
    return (node?.status as { nodeInfo?: { architecture?: string } } | undefined)?.nodeInfo?.architecture;
  };
}

export interface OpenReverseInput {
  kc: KubeConfig;
  /** Reads the dev pod and its node (the agent's architecture). */
  cluster: Pick<ClusterApi, 'get'>;
  namespace: string;
  finder: PodFinder;
  specs: readonly ReverseSpec[];
  say(line: string): void;
  debug?(message: string): void;
}

/** The reverse forwards of a command (sync, run) on client-node's exec; resolves once they are up, with their lines for the user. */
export async function openReverseForwards(input: OpenReverseInput): Promise<{ forwards: ReverseForwards; lines: string[] }> {
  let up = false;
  const forwards = startReverseForwards({
    exec: clientNodeExec(input.kc), namespace: input.namespace, finder: input.finder, specs: input.specs, nodeArch: nodeArchOf(input.cluster, input.namespace),
    onError: (message) => input.say(`reverse: ${message}`),
    onConnected: (pod) => {
      if (up) input.say(`reverse: following the dev pod: now ${pod}`);
      up = true;
    },
    ...(input.debug ? { debug: input.debug } : {}),
  });
  try {
    await forwards.ready;
  } catch (error) {
    await forwards.close();
    throw error;
  }
  return { forwards, lines: describeReverse(input.specs, forwards.pod) };
}

/** "pod 127.0.0.1:5432 → 127.0.0.1:5432 here" lines for the user. */
export function describeReverse(specs: readonly ReverseSpec[], pod: string | undefined): string[] {
  return specs.map((s) => `reverse forwarding ${pod ? `pod ${pod} ` : 'the dev pod\'s '}127.0.0.1:${s.remote} → 127.0.0.1:${s.local} here`);
}
