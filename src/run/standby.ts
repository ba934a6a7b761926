// The next restart's exec, opened ahead in the pod the command runs in and waiting for a
// line on its stdin (scripts.ts standbyArgv): a restart through it needs no new exec.

import { PassThrough, type Writable } from 'node:stream';
import type { Clock } from '../kube/clock.ts';
import type { ExecFn, RunningExec } from './runner.ts';
import { STANDBY_GO } from './scripts.ts';
import { after, within } from './timers.ts';

interface Held {
  exec: RunningExec;
  pod: string;
  stdin: PassThrough;
}

export interface StandbyDeps {
  exec: ExecFn;
  clock: Clock;
  container: string;
  argv: string[];
  /** Fresh output streams for each exec. */
  outputs(): { stdout: Writable; stderr: Writable };
}

export class Standby {
  private readonly deps: StandbyDeps;
  private held: Held | undefined;
  private cancelTimer: (() => void) | undefined;

  constructor(deps: StandbyDeps) {
    this.deps = deps;
  }

  /** Opens one in `pod` after `delayMs` (not to slow the command's own start), while `wanted(pod)` holds. */
  prepare(pod: string, delayMs: number, wanted: (pod: string) => boolean): void {
    this.cancel();
    this.cancelTimer = after(this.deps.clock, delayMs, () => {
      this.cancelTimer = undefined;
      void this.open(pod, () => !this.held && wanted(pod));
    });
  }

  private async open(pod: string, wanted: () => boolean): Promise<void> {
    if (!wanted()) return;
    const stdin = new PassThrough();
    let exec: RunningExec;
    try {
      exec = await this.deps.exec(pod, this.deps.container, this.deps.argv, this.deps.outputs(), stdin);
    } catch {
      return; // the next restart opens its own exec
    }
    const held = { exec, pod, stdin };
    // Stopped, restarted or moved meanwhile: this one is not needed.
    if (!wanted()) {
      await this.close(held);
      return;
    }
    this.held = held;
    // An exec that ends unused (its pod went away) is dropped; the next restart opens its own.
    void exec.exited.then(() => {
      if (this.held === held) {
        this.held = undefined;
        exec.close();
      }
    });
  }

  /** Starts the command through the exec held for `pod`, if there is one; one held elsewhere is closed unused. */
  release(pod: string | undefined): { exec: RunningExec; pod: string } | undefined {
    this.cancel();
    const held = this.held;
    this.held = undefined;
    if (!held) return undefined;
    if (held.pod !== pod) {
      void this.close(held);
      return undefined;
    }
    held.stdin.write(STANDBY_GO);
    return { exec: held.exec, pod: held.pod };
  }

  /** Closes what is held or about to be opened. */
  async drop(): Promise<void> {
    this.cancel();
    const held = this.held;
    this.held = undefined;
    if (held) await this.close(held);
  }

  private cancel(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** Ends a standby start unused: its stdin ends, so it exits without starting anything. */
  private async close(held: Held): Promise<void> {
    held.stdin.end();
    await within(this.deps.clock, held.exec.exited, 2_000);
    held.exec.close();
  }
}
