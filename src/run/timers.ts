// Timers on the injected clock (src/kube/clock.ts), never the global
// setTimeout: a test's clock then drives every wait of the runner.

import type { Clock } from '../kube/clock.ts';

/** Calls `fn` once after `ms` on the clock; the returned function cancels it. */
export function after(clock: Clock, ms: number, fn: () => void): () => void {
  const cancel = new AbortController();
  void clock.sleep(ms, cancel.signal).then(() => {
    if (!cancel.signal.aborted) fn();
  });
  return () => cancel.abort();
}

/** What `promise` settles to, or undefined once `ms` have passed first. */
export async function within<T>(clock: Clock, promise: Promise<T>, ms: number): Promise<T | undefined> {
  const cancel = new AbortController();
  try {
    return await Promise.race([promise, clock.sleep(ms, cancel.signal).then(() => undefined)]);
  } finally {
    cancel.abort();
  }
}
