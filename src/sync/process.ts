// Runs the local syncthing and keeps it running: restarts after a crash with a
// growing delay, restarts at once when syncthing asks for it (exit code 3), and
// stops it properly.
//
// `syncthing serve` runs a monitor process that starts the real worker as its
// child and forwards SIGTERM to it. Two things make that fragile, and are handled:
//  - the monitor logs before it forwards a signal, so with its output on a pipe
//    whose reader is gone it dies of SIGPIPE and orphans the worker: syncthing's
//    output goes to a log file, never to a pipe;
//  - if kubectl-dev dies without stopping it (SIGKILL, a crash), nothing would
//    stop syncthing: on POSIX it runs under a small sh guard that holds a pipe
//    from kubectl-dev on its stdin and sends SIGTERM to syncthing when the pipe
//    closes (which the kernel does when kubectl-dev dies).
// The guard, the monitor and the worker share a process group of their own, so
// a syncthing that does not stop in time is killed as a whole.

import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { realClock, type Clock } from '../kube/clock.ts';

// The one clock type is src/kube/clock.ts's; re-exported for this module's importers.
export { realClock, type Clock };

export type Spawner = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

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
  /** Output of syncthing is appended here (a file, never a pipe: see above). */
  logFile?: string;
  /** Run under the sh guard that stops syncthing when kubectl-dev dies (POSIX; default true). */
  guard?: boolean;
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

/**
 * The guard: runs "$@" with its output where the guard's goes, stdin from
 * /dev/null; SIGTERM to syncthing when the guard's stdin reaches EOF (kubectl-dev
 * gone) or when the guard gets SIGTERM/SIGINT/SIGHUP; exits with syncthing's status.
 */
export const GUARD_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- & c=$!',
  '( read -r _ <&3; kill -TERM "$c" 2>/dev/null ) & r=$!',
  'exec 3<&-',
  'trap \'kill -TERM "$c" 2>/dev/null\' TERM INT HUP',
  'while :; do wait "$c"; s=$?; kill -0 "$c" 2>/dev/null || break; done',
  'kill "$r" 2>/dev/null',
  'exit "$s"',
].join('\n');

/** The last `max` lines of a file (from its last 64 KiB). */
export function tailLines(file: string, max = 50): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, 65_536);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-max);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
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
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly guarded: boolean;
  private spawnError: string | undefined;
  restarts = 0;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.delayMs = this.backoff.initialMs;
    this.guarded = process.platform !== 'win32' && options.guard !== false;
  }

  /** The pid of the process group leader (the guard, or syncthing's monitor without it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines syncthing printed (for error messages). */
  lastLines(): string[] {
    const lines = this.options.logFile ? tailLines(this.options.logFile) : [];
    return this.spawnError ? [...lines, this.spawnError] : lines;
  }

  /** Starts syncthing; resolves once it is spawned (not when its REST API is up). */
  async start(): Promise<void> {
    if (this.loop) throw new Error('already started');
    await this.spawnOnce();
    this.loop = this.superviseLoop();
  }

  private async spawnOnce(): Promise<void> {
    await this.options.beforeStart?.();
    const spawn = this.options.spawn ?? nodeSpawn;
    const out = this.options.logFile ? openSync(this.options.logFile, 'a', 0o600) : 'ignore';
    const [command, args] = this.guarded
      ? ['/bin/sh', ['-c', GUARD_SCRIPT, this.options.command, this.options.command, ...this.options.args]]
      : [this.options.command, [...this.options.args]];
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        env: this.options.env,
        // The guard's stdin is the pipe whose end tells it kubectl-dev is gone.
        stdio: [this.guarded ? 'pipe' : 'ignore', out, out],
        // Own process group: guard, monitor and worker can be signalled together.
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
    } finally {
      if (typeof out === 'number') closeSync(out);
    }
    this.child = child;
    child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        this.spawnError = `kubectl-dev: cannot start ${this.options.command}: ${error.message}`;
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
        this.spawnError = `kubectl-dev: restart failed: ${(error as Error).message}`;
      }
    }
  }

  /**
   * Stops syncthing: SIGTERM to the group leader (the guard passes it on to the
   * monitor, which forwards it to the worker and waits), then SIGKILL to the whole
   * group if it is not gone after `timeoutMs`.
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
    child?.stdin?.destroy();
    await this.loop;
  }
}
