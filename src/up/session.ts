// `up`'s workloads side by side in one process: each is started (dev mode), then run (sync,
// forwards, its command; or, with --wait, a background sync waited for), all in parallel.
// A failure is reported with its workload's prefix; the policy says whether it stops the
// others. A stop (Ctrl-C, or a failure under --abort-on-failure) stops every command and sync
// and leaves dev mode on. What starting and running mean is injected (src/cli/commands/up.ts
// wires start.ts, run/ and sync/), so that this part is tested with fakes.

import { DevError } from '../core/errors.ts';
import { stopsOthers, type FailurePolicy, type Outcome } from './plan.ts';

/** A workload's sync, forwards and command, once going. */
export interface Running {
  /** Resolves when it ends on its own: with why (the workload left dev mode, was deleted), or undefined. */
  done: Promise<DevError | undefined>;
  stop(): Promise<void>;
}

export interface MemberSteps {
  label: string;
  /** Puts the workload in dev mode; resolves once its dev pod is ready. */
  start(): Promise<void>;
  /** Starts what runs for it (after start). */
  run(): Promise<Running>;
}

export interface UpResult {
  /** In the members' order. */
  outcomes: Outcome[];
  /** Workloads whose start had not finished when a Ctrl-C came (left as an interrupted start leaves them). */
  pending: string[];
}

/** How a workload reports (its lines get its prefix). */
export type Say = (label: string, line: string) => void;

const asDevError = (error: unknown): DevError => {
  if (error instanceof DevError) return error;
  throw error;
};

/**
 * Runs every member until each has ended, failed or been stopped (`interrupt` aborted: Ctrl-C).
 * Under `abort`, the first failure stops the others; starts already under way finish (their
 * workloads are then in dev mode for `down`) but run nothing.
 */
export async function upAll(members: readonly MemberSteps[], policy: FailurePolicy, say: Say, interrupt: AbortSignal): Promise<UpResult> {
  const outcomes = new Map<string, Outcome>(members.map((m) => [m.label, { label: m.label }]));
  const starting = new Set(members.map((m) => m.label));
  const running: Running[] = [];
  let stopping: Promise<void> | undefined;
  /** Stops every command and sync once; resolves when they have stopped. */
  const stopAll = () => (stopping ??= Promise.all(running.map((r) => r.stop().catch(() => undefined))).then(() => undefined));
  let onStop: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => (onStop = resolve));
  const requestStop = () => {
    onStop();
    return stopAll();
  };

  const fail = (label: string, error: DevError) => {
    const outcome = { label, error };
    outcomes.set(label, outcome);
    say(label, `error: ${error.message}`);
    if (error.hint) say(label, `  hint: ${error.hint}`);
    if (stopsOthers(policy, outcome) && !stopping) {
      say(label, 'stopping the other workloads (--abort-on-failure)');
      void requestStop();
    }
  };

  const one = async (member: MemberSteps): Promise<void> => {
    try {
      await member.start();
    } catch (error) {
      return fail(member.label, asDevError(error));
    } finally {
      starting.delete(member.label);
    }
    if (stopping) return;
    let handle: Running;
    try {
      handle = await member.run();
    } catch (error) {
      return fail(member.label, asDevError(error));
    }
    running.push(handle);
    // A stop asked for while it was getting going stops it too.
    if (stopping) return void await handle.stop().catch(() => undefined);
    const ended = await Promise.race([handle.done, stopRequested.then(() => undefined)]);
    if (ended instanceof DevError && !stopping) fail(member.label, ended);
  };

  // Ctrl-C: every command and sync stopped, without waiting for starts still under way.
  const interrupted = new Promise<void>((resolve) => {
    const stop = () => void requestStop().then(resolve);
    if (interrupt.aborted) stop();
    else interrupt.addEventListener('abort', stop, { once: true });
  });
  const all = Promise.all(members.map(one)).then(async () => {
    if (stopping) await stopping;
  });
  await Promise.race([all, interrupted]);
  return { outcomes: members.map((m) => outcomes.get(m.label)!), pending: interrupt.aborted ? members.map((m) => m.label).filter((l) => starting.has(l)) : [] };
}
