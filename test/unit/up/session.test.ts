// upAll with fake members: what a failure does to the others under each policy, what Ctrl-C stops, and what it reports.

import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import type { FailurePolicy } from '../../../src/up/plan.ts';
import { upAll, type MemberSteps, type Running } from '../../../src/up/session.ts';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** A member whose start and run the test settles; it records what happened to it. */
function fake(label: string) {
  const started = deferred();
  const ended = deferred<DevError | undefined>();
  const log: string[] = [];
  const member: MemberSteps = {
    label,
    start: async () => { log.push('start'); await started.promise; },
    run: async (): Promise<Running> => {
      log.push('run');
      return { done: ended.promise, stop: async () => void log.push('stop') };
    },
  };
  return { member, started, ended, log };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const failure = new DevError('POD_FAILED', 'cannot pull image', 'use another image');

async function scenario(policy: FailurePolicy) {
  const [web, db, worker] = [fake('web'), fake('db'), fake('worker')];
  const lines: string[] = [];
  const interrupt = new AbortController();
  const result = upAll([web.member, db.member, worker.member], policy, (label, line) => lines.push(`[${label}] ${line}`), interrupt.signal);
  let settled = false;
  void result.then(() => (settled = true));
  web.started.resolve();
  db.started.resolve();
  await tick();
  worker.started.reject(failure);
  await tick();
  return { web, db, worker, lines, interrupt, result, settled: () => settled };
}

describe('upAll', () => {
  it('by default reports a failed workload with its prefix and lets the others go on until Ctrl-C, which stops each once', async () => {
    const s = await scenario('continue');
    expect(s.lines).toEqual(['[worker] error: cannot pull image', '[worker]   hint: use another image']);
    expect(s.web.log).toEqual(['start', 'run']);
    expect(s.db.log).toEqual(['start', 'run']);
    expect(s.worker.log).toEqual(['start']);
    expect(s.settled()).toBe(false);
    s.interrupt.abort();
    const result = await s.result;
    expect(s.web.log).toEqual(['start', 'run', 'stop']);
    expect(s.db.log).toEqual(['start', 'run', 'stop']);
    expect(result).toEqual({ outcomes: [{ label: 'web' }, { label: 'db' }, { label: 'worker', error: failure }], pending: [] });
  });

  it('under abort, the first failure stops the others and ends up by itself', async () => {
    const s = await scenario('abort');
    const result = await s.result;
    expect(s.lines).toContain('[worker] stopping the other workloads (--abort-on-failure)');
    expect(s.web.log).toEqual(['start', 'run', 'stop']);
    expect(s.db.log).toEqual(['start', 'run', 'stop']);
    expect(result.outcomes.map((o) => o.error?.code)).toEqual([undefined, undefined, 'POD_FAILED']);
  });

  it('under abort, a start under way when another fails finishes, then runs nothing', async () => {
    const [web, worker] = [fake('web'), fake('worker')];
    const result = upAll([web.member, worker.member], 'abort', () => {}, new AbortController().signal);
    worker.started.reject(failure);
    await tick();
    expect(web.log).toEqual(['start']);
    web.started.resolve();
    await result;
    expect(web.log).toEqual(['start']);
  });

  it('a workload whose sync ends with an error (it left dev mode) is a failure; under continue the rest keep going', async () => {
    const [web, db] = [fake('web'), fake('db')];
    const lines: string[] = [];
    const interrupt = new AbortController();
    const result = upAll([web.member, db.member], 'continue', (label, line) => lines.push(`[${label}] ${line}`), interrupt.signal);
    web.started.resolve();
    db.started.resolve();
    await tick();
    const left = new DevError('SYNC_NOT_IN_DEV_MODE', 'deployment/web left dev mode', 'start it again');
    web.ended.resolve(left);
    await tick();
    expect(lines).toEqual(['[web] error: deployment/web left dev mode', '[web]   hint: start it again']);
    expect(db.log).toEqual(['start', 'run']);
    interrupt.abort();
    expect((await result).outcomes).toEqual([{ label: 'web', error: left }, { label: 'db' }]);
  });

  it('Ctrl-C while a start is under way stops what runs and returns without waiting for it, naming it', async () => {
    const [web, slow] = [fake('web'), fake('slow')];
    const interrupt = new AbortController();
    const result = upAll([web.member, slow.member], 'continue', () => {}, interrupt.signal);
    web.started.resolve();
    await tick();
    interrupt.abort();
    const done = await result;
    expect(web.log).toEqual(['start', 'run', 'stop']);
    expect(done.pending).toEqual(['slow']);
    // Should its start finish after all, nothing runs.
    slow.started.resolve();
    await tick();
    expect(slow.log).toEqual(['start']);
  });

  it('ends by itself when every workload failed', async () => {
    const [a, b] = [fake('a'), fake('b')];
    const result = upAll([a.member, b.member], 'continue', () => {}, new AbortController().signal);
    a.started.reject(failure);
    b.started.reject(failure);
    expect((await result).outcomes.every((o) => o.error === failure)).toBe(true);
  });
});
