// Runs the local syncthing and keeps it running: restarts after a crash with a
// growing delay, restarts at once when syncthing asks for it (exit code 3), and
// stops it properly. `syncthing serve` runs a monitor process that starts the real
// worker as its child; SIGTERM to the monitor is forwarded to the worker and the
// monitor waits for it. The pair is started in its own process group so that a
// monitor that does not exit in time can be killed together with its worker.

import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export type Spawner = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        signal?.removeEventListener('abort', done);
        clearTimeout(timer);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** syncthing's exit code when it wants to be restarted (config change needing a restart, reset). */
export const EXIT_RESTART = 3;

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the delay. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

export interface SupervisorOptions {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Output of syncthing is appended here. */
  logFile?: string;
  spawn?: Spawner;
  clock?: Clock;
  backoff?: Backoff;
  /** Called before every start (the first and each restart), e.g. to write config.xml. */
  beforeStart?: () => Promise<void> | void;
  /** Called after each spawn with the monitor's pid. */
  onStart?: (pid: number) => void;
  /** Called when the process exits on its own; `restartInMs` is undefined when it will not be restarted. */
  onExit?: (info: { code: number | null; signal: NodeJS.Signals | null; restartInMs: number | undefined; lastLines: string[] }) => void;
}

/** Sends `signal` to the whole process group of `pid` (POSIX) or to the process (Windows). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Supervisor {
  private readonly options: SupervisorOptions;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private delayMs: number;
  private readonly lines: string[] = [];
  private log: WriteStream | undefined;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;
  restarts = 0;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.delayMs = this.backoff.initialMs;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines syncthing printed (for error messages). */
  lastLines(): string[] {
    return [...this.lines];
  }

  private record(chunk: Buffer): void {
    this.log?.write(chunk);
    const text = chunk.toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > 50) this.lines.shift();
    }
  }

  /** Starts syncthing; resolves once it is spawned (not when its REST API is up). */
  async start(): Promise<void> {
    if (this.loop) throw new Error('already started');
    if (this.options.logFile) this.log = createWriteStream(this.options.logFile, { flags: 'a', mode: 0o600 });
    await this.spawnOnce();
    this.loop = this.superviseLoop();
  }

  private async spawnOnce(): Promise<void> {
    await this.options.beforeStart?.();
    const spawn = this.options.spawn ?? nodeSpawn;
    const child = spawn(this.options.command, this.options.args, {
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: the monitor and its worker can be signalled together.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => this.record(c));
    child.stderr?.on('data', (c: Buffer) => this.record(c));
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        this.record(Buffer.from(`kubectl-dev: cannot start ${this.options.command}: ${error.message}\n`));
        resolve();
      });
    });
    if (child.pid !== undefined) this.options.onStart?.(child.pid);
  }

  private async superviseLoop(): Promise<void> {
    while (!this.stopping) {
      const child = this.child!;
      const startedAt = this.clock.now();
      await this.exited;
      if (this.stopping) return;
      const code = child.exitCode;
      const signal = child.signalCode;
      const ranMs = this.clock.now() - startedAt;
      if (ranMs >= this.backoff.resetAfterMs) this.delayMs = this.backoff.initialMs;
      const restartInMs = code === EXIT_RESTART ? 0 : this.delayMs;
      this.options.onExit?.({ code, signal, restartInMs, lastLines: this.lastLines() });
      if (code !== EXIT_RESTART) this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
      // Anything left in the group (a worker whose monitor died) goes first.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      await this.clock.sleep(restartInMs, this.stopSignal.signal);
      if (this.stopping) return;
      this.restarts++;
      try {
        await this.spawnOnce();
      } catch (error) {
        this.record(Buffer.from(`kubectl-dev: restart failed: ${(error as Error).message}\n`));
      }
    }
  }

  /**
   * Stops syncthing: SIGTERM to the monitor (which forwards it to the worker and
   * waits), then SIGKILL to the whole group if it is not gone after `timeoutMs`.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = new AbortController();
      const inTime = await Promise.race([
        this.exited.then(() => true),
        this.clock.sleep(timeoutMs, timer.signal).then(() => false),
      ]);
      timer.abort();
      if (!inTime) {
        signalGroup(child.pid, 'SIGKILL');
        await this.exited;
      }
    }
    // A worker outliving its monitor would keep the database locked.
    if (child?.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    await this.loop;
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = undefined;
  }
}
