// Plain in-memory fakes of the runner's edges (RunnerDeps), driven by the test: a clock
// that only moves when told, an exec that plays the scripts' part (a start stops the
// command before it, a standby waits for its line, a stop ends the command), a sidecar
// whose landing events the test pushes, and a local tree whose saves the test reports.
import { Writable, type Readable } from 'node:stream';
import type { ExecEnd, ExecFn, RunnerDeps, RunningExec } from '../../../src/run/runner.ts';
import type { LocalTree, TreeWatch } from '../../../src/run/local.ts';
import { STANDBY_GO } from '../../../src/run/scripts.ts';
import { RestError, type SyncthingEvent } from '../../../src/sync/rest.ts';
import type { Clock } from '../../../src/kube/clock.ts';

/** Virtual time: sleeps resolve only when the test moves the clock past them. */
export class FakeClock implements Clock {
  private time = 1_000_000;
  private sleepers: Array<{ at: number; wake: () => void }> = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = { at: this.time + ms, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      }, { once: true });
    });
  }

  /** When the next sleep ends, if any sleeps. */
  nextAt(): number | undefined {
    return this.sleepers.length === 0 ? undefined : Math.min(...this.sleepers.map((s) => s.at));
  }

  /** Moves to `at`, waking every sleep due by then. */
  moveTo(at: number): void {
    this.time = Math.max(this.time, at);
    const due = this.sleepers.filter((s) => s.at <= this.time);
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    for (const s of due) s.wake();
  }
}

export type ExecKind = 'start' | 'standby' | 'stop';

/** One exec the runner made, as the container would see it. */
export class FakeExec implements RunningExec {
  readonly exited: Promise<ExecEnd>;
  readonly kind: ExecKind;
  /** What was written to the exec's stdin (a standby's release line). */
  stdinText = '';
  stdinEnded = false;
  closed = false;
  ended: ExecEnd | undefined;
  readonly pod: string;
  readonly container: string;
  readonly argv: string[];
  readonly out: { stdout: Writable; stderr: Writable };
  private settle!: (end: ExecEnd) => void;

  constructor(pod: string, container: string, argv: string[], out: { stdout: Writable; stderr: Writable }) {
    this.pod = pod;
    this.container = container;
    this.argv = argv;
    this.out = out;
    this.kind = argv[3] === 'kubectl-dev-standby' ? 'standby' : argv[3] === 'kubectl-dev-stop' ? 'stop' : 'start';
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  /** The command's output line (as the container writes it). */
  print(line: string): void {
    this.out.stdout.write(`${line}\n`);
  }

  exit(code: number): void {
    this.end({ kind: 'exited', code });
  }

  lose(why: string): void {
    this.end({ kind: 'lost', why });
  }

  private end(end: ExecEnd): void {
    if (this.ended) return;
    this.ended = end;
    this.settle(end);
  }

  close(): void {
    this.closed = true;
  }
}

/** The exec edge: records every call; the start script's, standby's and stop script's parts are played here. */
export class FakeExecs {
  readonly calls: FakeExec[] = [];
  /** The command that runs in the container now (a start's, or a released standby's). */
  running: FakeExec | undefined;
  /** Set: the next exec fails to open with this message. */
  failNext: string | undefined;

  readonly fn: ExecFn = async (pod, container, argv, out, stdin) => {
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = undefined;
      throw new Error(message);
    }
    const exec = new FakeExec(pod, container, argv, out);
    this.calls.push(exec);
    if (exec.kind === 'start') this.takeOver(exec);
    if (exec.kind === 'stop') {
      this.running?.exit(143);
      this.running = undefined;
      exec.exit(0);
    }
    if (exec.kind === 'standby') this.await(exec, stdin!);
    return exec;
  };

  private await(exec: FakeExec, stdin: Readable): void {
    stdin.setEncoding('utf8');
    stdin.on('data', (text: string) => {
      exec.stdinText += text;
      if (exec.stdinText === STANDBY_GO) this.takeOver(exec);
    });
    stdin.on('end', () => {
      exec.stdinEnded = true;
      if (exec.stdinText === '') exec.exit(0);
    });
  }

  /** The start script stops the command before it, then runs its own. */
  private takeOver(exec: FakeExec): void {
    this.running?.exit(143);
    this.running = exec;
  }

  of(kind: ExecKind): FakeExec[] {
    return this.calls.filter((c) => c.kind === kind);
  }
}

/** The sidecar's syncthing: landing events pushed by the test, long polls answered at once or after their timeout. */
export class FakeSidecar {
  private events: SyncthingEvent[] = [];
  private nextId = 1;
  private waiting: Array<() => void> = [];
  /** Set: every request fails (the sidecar is gone with its pod). */
  down = false;

  private readonly clock: Clock;
  private readonly folder: string;

  constructor(clock: Clock, folder: string) {
    this.clock = clock;
    this.folder = folder;
  }

  landed(filenames: string[], folder = this.folder): void {
    this.events.push({ id: this.nextId++, type: 'LocalIndexUpdated', time: '', data: { folder, filenames } });
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** A new sidecar (the dev pod was replaced): events numbered from 1 again. */
  replaced(): void {
    this.events = [];
    this.nextId = 1;
    this.down = false;
  }

  gone(): void {
    this.down = true;
    for (const wake of this.waiting.splice(0)) wake();
  }

  readonly rest: RunnerDeps['sidecar'] = {
    recentEvents: async (_types, limit = 1) => {
      if (this.down) throw new RestError('GET /rest/events: ECONNREFUSED', 'http://sidecar');
      return this.events.slice(-limit);
    },
    events: async (since, _types, timeoutS = 30) => {
      for (;;) {
        if (this.down) throw new RestError('GET /rest/events: ECONNRESET', 'http://sidecar');
        const after = this.events.filter((e) => e.id > since);
        if (after.length > 0) return after;
        const cancel = new AbortController();
        const timedOut = await Promise.race([
          this.clock.sleep(timeoutS * 1000, cancel.signal).then(() => true),
          new Promise<boolean>((resolve) => this.waiting.push(() => resolve(false))),
        ]);
        cancel.abort();
        if (timedOut) return [];
      }
    },
  };
}

/** The local synced directory: the files there, its .stignore, and the watcher the runner started. */
export class FakeTree implements LocalTree {
  readonly root = '/home/me/app';
  readonly files = new Set<string>();
  stignore: string[] | undefined;
  watching: TreeWatch | undefined;
  watchClosed = false;

  ignoreLines(): string[] | undefined {
    return this.stignore;
  }

  exists(rel: string): boolean {
    return this.files.has(rel);
  }

  watch(watch: TreeWatch): { close(): void } {
    this.watching = watch;
    return { close: () => (this.watchClosed = true) };
  }

  /** A local save, as the watcher reports it (ignored paths left out, as the fast path does). */
  save(...paths: string[]): void {
    for (const p of paths) this.files.add(p);
    this.watching!.changed(paths.filter((p) => !this.watching!.isIgnored(p)));
  }
}

/** Everything written to a stream, as text. */
export class Collected extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

/** Lets promises, stream callbacks and immediates run (real time, no clock). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}
