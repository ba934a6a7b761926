// `kubectl dev run`: a command in the dev container that restarts when synced changes
// have landed there. Every edge comes in through RunnerDeps (exec, the dev pod finder,
// the sidecar's and the local syncthing's REST, the local tree and its watcher, the
// clock); this module only decides when to start, restart and stop.
//
// Landing is read from the sidecar syncthing's events (landing.ts). Local saves are
// tracked too, so a burst restarts once, after all of it has landed (changes.ts).

import type { Readable, Writable } from 'node:stream';
import { DevError } from '../core/errors.ts';
import { STIGNORE } from '../sync/ignores.ts';
import type { Clock } from '../kube/clock.ts';
import type { SyncthingRest } from '../sync/rest.ts';
import { ChangeTracker, type DueRestart } from './changes.ts';
import { WatchIgnores } from './ignored.ts';
import { followLanding, latestLandingId, type SidecarEvents } from './landing.ts';
import type { LocalTree } from './local.ts';
import { prefixLines } from './output.ts';
import { standbyArgv, startArgv, stopArgv } from './scripts.ts';
import { Standby } from './standby.ts';
import { after, within } from './timers.ts';

export { prefixLines } from './output.ts';

export type ExecEnd = { kind: 'exited'; code: number } | { kind: 'lost'; why: string };

export interface RunningExec {
  /** Settles once: the command's exit code, or the connection lost without one. */
  readonly exited: Promise<ExecEnd>;
  close(): void;
}

/** Runs argv in a container of a pod (no TTY; stdin only when given), streaming its output. */
export type ExecFn = (pod: string, container: string, argv: string[], out: { stdout: Writable; stderr: Writable }, stdin?: Readable) => Promise<RunningExec>;

export interface RunnerOptions {
  command: readonly string[];
  container: string;
  /** The work dir in the container (the command starts there). */
  workdir: string;
  /** Pid file in the container (scripts.ts pidFileOf). */
  pidFile: string;
  folderId: string;
  restart: boolean;
  restartOn?: readonly string[];
  quietMs?: number;
  maxWaitMs?: number;
  /** How long after a (re)start the next restart's exec is opened ahead (standbyArgv); default 300 ms, negative: never. */
  standbyDelayMs?: number;
  /** Put before every line of the command's output. */
  prefix: string;
}

export interface RunnerDeps {
  exec: ExecFn;
  /** The ready dev pod now, if any. */
  findPod(): Promise<string | undefined>;
  /** Resolves once the dev container has the current local state (throws on timeout). */
  waitInSync(timeoutMs: number): Promise<void>;
  /** The sidecar's syncthing (through the session's port-forward): what landed in the container. */
  sidecar: SidecarEvents;
  /** The local syncthing: whether it ever indexed a saved path. */
  local: Pick<SyncthingRest, 'fileInfo'>;
  /** The local synced directory: its .stignore, its paths, its watcher. */
  tree: LocalTree;
  clock: Clock;
  /** Where the command's output goes (never ended by the runner). */
  stdout: Writable;
  stderr: Writable;
  /** kubectl-dev's own lines about the command (started, exited, restarting). */
  say(line: string): void;
  /** The replaced command is gone (its exec ended). */
  previousGone?(): void;
  /** How many items the sidecar still needs, as the local syncthing sees it (0: it has everything scanned). */
  remoteNeeds?(): Promise<number>;
}

export class Runner {
  private readonly options: RunnerOptions;
  private readonly deps: RunnerDeps;
  private readonly tracker: ChangeTracker;
  private readonly standby: Standby;
  private current: { exec: RunningExec; pod: string; generation: number } | undefined;
  /** Where a command whose exec was lost may still run (a lost connection does not end the process). */
  private orphanIn: string | undefined;
  private generation = 0;
  private starts = 0;
  private stopped = false;
  private started = false;
  /** Since when a due restart has been waiting for the sidecar to need nothing. */
  private needsSince = Number.POSITIVE_INFINITY;
  private readonly stopSignal = new AbortController();
  private cancelCheck: (() => void) | undefined;
  private watcher: { close(): void } | undefined;
  private recovering: Promise<void> | undefined;
  private restarting: Promise<void> = Promise.resolve();
  private eventsDone: Promise<void> = Promise.resolve();

  constructor(options: RunnerOptions, deps: RunnerDeps) {
    this.options = options;
    this.deps = deps;
    this.tracker = new ChangeTracker({
      quietMs: options.quietMs ?? 50,
      maxWaitMs: options.maxWaitMs ?? 3_000,
      ...(options.restartOn ? { restartOn: options.restartOn } : {}),
    });
    this.standby = new Standby({
      exec: deps.exec, clock: deps.clock, container: options.container,
      argv: standbyArgv(options.pidFile, options.workdir, options.command), outputs: () => this.outputs(),
    });
  }

  private get display(): string {
    const c = this.options.command;
    return c.length === 3 && c[0] === '/bin/sh' && c[1] === '-c' ? c[2]! : c.join(' ');
  }

  /** Waits for the initial sync, starts the command, and follows changes until stop(). */
  async start(timeoutMs: number): Promise<void> {
    if (this.options.restart) {
      this.watchLocal();
      // Subscribe to the sidecar's events before the initial sync is done, so nothing is missed.
      const since = await this.firstLandingId(timeoutMs);
      this.eventsDone = followLanding({
        sidecar: this.deps.sidecar, clock: this.deps.clock, folderId: this.options.folderId, since, signal: this.stopSignal.signal,
        landed: (paths) => {
          this.tracker.landedIn(paths, this.deps.clock.now());
          this.schedule();
        },
      });
    }
    await this.deps.waitInSync(timeoutMs);
    // What landed during the initial sync is in the first start already.
    this.tracker.take(Number.POSITIVE_INFINITY);
    this.started = true;
    await this.serially(() => this.launch('start'));
  }

  /** The sidecar's latest landing event; it answers once the dev pod's sync sidecar is up. */
  private async firstLandingId(timeoutMs: number): Promise<number> {
    const deadline = this.deps.clock.now() + timeoutMs;
    for (;;) {
      try {
        return await latestLandingId(this.deps.sidecar);
      } catch (error) {
        if (this.stopped || this.deps.clock.now() > deadline) {
          throw new DevError('SYNC_TIMEOUT', `the dev pod's sync sidecar did not answer: ${(error as Error).message}`, 'check kubectl dev status; the sync sidecar of the dev pod must be running.');
        }
        await this.deps.clock.sleep(250, this.stopSignal.signal);
      }
    }
  }

  /** Starts and restarts one at a time. */
  private serially(step: () => Promise<void>): Promise<void> {
    const next = this.restarting.then(step);
    this.restarting = next.catch(() => undefined);
    return next;
  }

  /** Stops the command in the container (and its children), and everything this runner started. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopSignal.abort();
    this.cancelCheck?.();
    this.watcher?.close();
    await this.restarting.catch(() => undefined);
    await this.standby.drop();
    const running = this.current;
    this.current = undefined;
    const pod = running?.pod ?? this.orphanIn;
    if (pod) {
      try {
        const stopper = await this.deps.exec(pod, this.options.container, stopArgv(this.options.pidFile), {
          stdout: prefixLines(this.deps.stderr, this.options.prefix), stderr: prefixLines(this.deps.stderr, this.options.prefix),
        });
        await within(this.deps.clock, stopper.exited, 10_000);
        stopper.close();
      } catch (error) {
        // The orphan's pod may be gone, which is what was wanted.
        if (running) this.deps.say(`could not stop the command in ${pod}: ${(error as Error).message}`);
      }
    }
    if (running) {
      await within(this.deps.clock, running.exec.exited, 2_000);
      running.exec.close();
    }
    await within(this.deps.clock, this.eventsDone, 1_000);
  }

  /** (Re)starts the command in the dev pod; the start script stops the previous one first. */
  private async launch(reason: 'start' | 'restart'): Promise<void> {
    if (this.stopped) return;
    // A restart in the pod the command runs in goes through the exec opened ahead, when there is one.
    const standby = this.standby.release(reason === 'restart' ? this.current?.pod : undefined);
    const pod = standby?.pod ?? await this.deps.findPod();
    if (!pod) {
      this.deps.say('no ready dev pod: the command starts when there is one');
      this.recover();
      return;
    }
    const generation = ++this.generation;
    const previous = this.current;
    let exec: RunningExec;
    try {
      // Fresh line splitters per exec: an exec may end its streams when it finishes.
      exec = standby?.exec ?? await this.deps.exec(pod, this.options.container, startArgv(this.options.pidFile, this.options.workdir, this.options.command), this.outputs());
    } catch (error) {
      if (reason === 'start' && this.starts === 0) {
        throw new DevError('RUN_FAILED', `could not start the command in ${pod}/${this.options.container}: ${(error as Error).message}`,
          'check that you may create pods/exec (kubectl auth can-i create pods/exec) and that the dev pod runs (kubectl dev status).');
      }
      this.deps.say(`could not start the command in ${pod}: ${(error as Error).message}; trying again`);
      this.recover();
      return;
    }
    this.current = { exec, pod, generation };
    this.orphanIn = undefined; // the start script stops whatever the pid file names
    if (reason === 'start') {
      this.starts++;
      this.deps.say(`started in ${pod}: ${this.display}`);
    }
    // The previous exec ends once the start script has stopped its command; its socket may linger.
    if (previous) {
      void within(this.deps.clock, previous.exec.exited, 10_000).then(() => {
        previous.exec.close();
        this.deps.previousGone?.();
      });
    }
    void exec.exited.then((end) => this.ended(generation, end));
    const delay = this.options.standbyDelayMs ?? 300;
    if (this.options.restart && delay >= 0 && !this.stopped) this.standby.prepare(pod, delay, (p) => !this.stopped && this.current?.pod === p);
  }

  private outputs(): { stdout: Writable; stderr: Writable } {
    return { stdout: prefixLines(this.deps.stdout, this.options.prefix), stderr: prefixLines(this.deps.stderr, this.options.prefix) };
  }

  private async ended(generation: number, end: ExecEnd): Promise<void> {
    if (this.stopped || this.current?.generation !== generation) return; // replaced on purpose
    const running = this.current;
    this.current = undefined;
    running.exec.close();
    // A command that ended because its pod went away (deleted, rescheduled) is not a failure of the code.
    if (end.kind === 'exited' && (await this.deps.findPod().catch(() => undefined)) !== running.pod) {
      end = { kind: 'lost', why: `pod ${running.pod} is gone` };
    }
    if (this.stopped || this.current) return;
    const again = this.options.restart ? '; it starts again after the next change' : '';
    if (end.kind === 'exited') {
      this.deps.say(end.code === 0 ? `the command exited (code 0)${again}` : `the command failed with exit code ${end.code}${again}`);
    } else {
      this.orphanIn = running.pod;
      this.deps.say(`lost the command in ${running.pod} (${end.why}); it starts again once the dev pod is back and in sync`);
      this.recover();
    }
  }

  /** After the dev pod was lost: wait for a ready dev pod in sync, then start again. */
  private recover(): void {
    if (this.recovering || this.stopped) return;
    this.recovering = (async () => {
      while (!this.stopped) {
        await this.deps.clock.sleep(1_000, this.stopSignal.signal);
        if (this.stopped) break;
        try {
          if (!(await this.deps.findPod())) continue;
          await this.deps.waitInSync(30_000);
          this.recovering = undefined;
          await this.serially(() => this.launch('start'));
          return;
        } catch (error) {
          this.deps.say(`waiting for the dev pod: ${(error as Error).message}`);
        }
      }
      this.recovering = undefined;
    })();
  }

  private watchLocal(): void {
    const { tree } = this.deps;
    const ignores = new WatchIgnores(() => tree.ignoreLines());
    this.watcher = tree.watch({
      isIgnored: (rel) => ignores.isIgnored(rel),
      changed: (subs) => {
        if (subs.includes(STIGNORE)) ignores.reload();
        this.tracker.saved(ignores.saved(subs), this.deps.clock.now());
        this.schedule();
      },
      error: (message) => this.deps.say(`watching ${tree.root}: ${message}`),
    });
  }

  private schedule(): void {
    if (this.stopped || !this.options.restart) return;
    const at = this.tracker.nextCheckAt();
    if (at === undefined) return;
    this.cancelCheck?.();
    this.cancelCheck = after(this.deps.clock, Math.max(0, at - this.deps.clock.now()), () => void this.check());
  }

  private async check(): Promise<void> {
    this.cancelCheck = undefined;
    if (this.stopped) return;
    await this.dropVanished();
    if (await this.sidecarStillNeeds()) {
      this.cancelCheck = after(this.deps.clock, 50, () => void this.check());
      return;
    }
    const due = this.tracker.take(this.deps.clock.now());
    if (!due) {
      this.schedule();
      return;
    }
    if (!this.started) return; // the first start comes after the initial sync anyway
    await this.serially(() => this.restartFor(due));
  }

  /** Syncthing's own view too, when a restart is due: a burst may still be on its way in pieces the watcher has not reported. */
  private async sidecarStillNeeds(): Promise<boolean> {
    const at = this.tracker.nextCheckAt();
    if (at !== undefined && at <= this.deps.clock.now() && this.deps.remoteNeeds) {
      const needs = await this.deps.remoteNeeds().catch(() => 0);
      const now = this.deps.clock.now();
      if (needs > 0) {
        if (this.needsSince === Number.POSITIVE_INFINITY) this.needsSince = now;
        if (now - this.needsSince < (this.options.maxWaitMs ?? 3_000)) return true;
      }
    }
    this.needsSince = Number.POSITIVE_INFINITY;
    return false;
  }

  /** Saved paths that are gone and that syncthing never indexed (an editor's temp files) will not land. */
  private async dropVanished(): Promise<void> {
    for (const path of this.tracker.waitingFor()) {
      if (path === '' || this.deps.tree.exists(path)) continue;
      try {
        await this.deps.local.fileInfo(this.options.folderId, path);
      } catch (error) {
        if ((error as { status?: number }).status === 404) this.tracker.drop(path);
      }
    }
  }

  private async restartFor(due: DueRestart): Promise<void> {
    if (this.stopped) return;
    if (due.gaveUpOn.length > 0) {
      this.deps.say(`${due.gaveUpOn.length} saved path(s) did not reach the container in time (${due.gaveUpOn.slice(0, 3).join(', ')}); restarting anyway — see kubectl dev status`);
    }
    if (this.recovering) return; // the command starts anyway once the dev pod is back
    const what = `${due.paths.join(', ')}${due.count > due.paths.length ? ` and ${due.count - due.paths.length} more` : ''}`;
    this.deps.say(`${due.count} change(s) landed in the container (${what}): ${this.current ? 'restarting' : 'starting'}`);
    await this.launch('restart');
  }
}
