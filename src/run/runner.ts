// `kubectl dev run`: a command in the dev container that restarts when synced changes
// have landed there. The pieces it is given (exec, the dev pod finder, the sidecar's
// and the local syncthing's REST, the local watcher) are the edges; this module only
// decides when to start, restart and stop.
//
// Landing is read from the sidecar syncthing's LocalIndexUpdated events: they name the
// paths it has just written into the work dir. Local saves are tracked too, so a burst
// restarts once, after all of it has landed (src/run/changes.ts).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { DevError } from '../core/errors.ts';
import { ignoreMatcher, syncthingRules } from '../sync/ignores.ts';
import type { Clock } from '../sync/process.ts';
import type { SyncthingEvent, SyncthingRest } from '../sync/rest.ts';
import { FastPath } from '../sync/watch.ts';
import { ChangeTracker, type DueRestart } from './changes.ts';
import { STANDBY_GO, standbyArgv, startArgv, stopArgv } from './scripts.ts';

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
  /** The local synced directory. */
  localDir: string;
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
  /** The sidecar's syncthing (through the session's port-forward). */
  sidecar: Pick<SyncthingRest, 'request'>;
  /** The local syncthing. */
  local: Pick<SyncthingRest, 'request'>;
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

const LANDED_EVENT = 'LocalIndexUpdated';

/** A Writable that prefixes every line it passes on. */
export function prefixLines(target: Writable, prefix: string): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) target.write(lines.map((l) => `${prefix}${l}\n`).join(''));
      callback();
    },
    final(callback) {
      if (partial) target.write(`${prefix}${partial}\n`);
      partial = '';
      callback();
    },
  });
}

/** syncthing's own files in the synced dir: never a reason to restart. */
function isSyncthingFile(rel: string): boolean {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  return rel === '.stfolder' || rel.startsWith('.stfolder/') || rel === '.stversions' || rel.startsWith('.stversions/') || base.startsWith('.syncthing.') || base.startsWith('~syncthing~');
}

export class Runner {
  private readonly options: RunnerOptions;
  private readonly deps: RunnerDeps;
  private readonly tracker: ChangeTracker;
  private current: { exec: RunningExec; pod: string; generation: number } | undefined;
  /** The next restart's exec, opened ahead in the pod the command runs in, waiting for a line on its stdin. */
  private standby: { exec: RunningExec; pod: string; stdin: PassThrough } | undefined;
  private standbyTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private stopped = false;
  private started = false;
  /** Since when a due restart has been waiting for the sidecar to need nothing. */
  private needsSince = Number.POSITIVE_INFINITY;
  private readonly stopSignal = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private watcher: FastPath | undefined;
  private recovering: Promise<void> | undefined;
  private restarting: Promise<void> = Promise.resolve();
  private eventsDone: Promise<void> = Promise.resolve();
  /** Counters for tests and benchmarks. */
  readonly stats = { starts: 0, restarts: 0, exits: 0 };

  constructor(options: RunnerOptions, deps: RunnerDeps) {
    this.options = options;
    this.deps = deps;
    this.tracker = new ChangeTracker({
      quietMs: options.quietMs ?? 50,
      maxWaitMs: options.maxWaitMs ?? 3_000,
      ...(options.restartOn ? { restartOn: options.restartOn } : {}),
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
      const deadline = this.deps.clock.now() + timeoutMs;
      let since: number | undefined;
      while (since === undefined) {
        try {
          since = await this.latestEventId();
        } catch (error) {
          // The sidecar answers once the dev pod's sync sidecar is up.
          if (this.stopped || this.deps.clock.now() > deadline) {
            throw new DevError('SYNC_TIMEOUT', `the dev pod's sync sidecar did not answer: ${(error as Error).message}`, 'check kubectl dev status; the sync sidecar of the dev pod must be running.');
          }
          await this.deps.clock.sleep(250, this.stopSignal.signal);
        }
      }
      this.eventsDone = this.followLanding(since);
    }
    await this.deps.waitInSync(timeoutMs);
    // What landed during the initial sync is in the first start already.
    this.tracker.take(Number.POSITIVE_INFINITY);
    this.started = true;
    await this.serially(() => this.launch('start'));
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
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    await this.restarting.catch(() => undefined);
    await this.dropStandby();
    const running = this.current;
    this.current = undefined;
    if (running) {
      try {
        const stopper = await this.deps.exec(running.pod, this.options.container, stopArgv(this.options.pidFile), {
          stdout: prefixLines(this.deps.stderr, this.options.prefix), stderr: prefixLines(this.deps.stderr, this.options.prefix),
        });
        await this.within(stopper.exited, 10_000);
        stopper.close();
      } catch (error) {
        this.deps.say(`could not stop the command in ${running.pod}: ${(error as Error).message}`);
      }
      await this.within(running.exec.exited, 2_000);
      running.exec.close();
    }
    await this.within(this.eventsDone, 1_000);
  }

  private async within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** (Re)starts the command in the dev pod; the start script stops the previous one first. */
  private async launch(reason: 'start' | 'restart'): Promise<void> {
    if (this.stopped) return;
    if (this.standbyTimer) clearTimeout(this.standbyTimer);
    this.standbyTimer = undefined;
    // A restart in the pod the command runs in goes through the exec opened ahead, when there is one.
    const held = this.standby;
    this.standby = undefined;
    const standby = reason === 'restart' && held && held.pod === this.current?.pod ? held : undefined;
    if (held && !standby) void this.closeStandby(held);
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
      if (standby) {
        standby.stdin.write(STANDBY_GO);
        exec = standby.exec;
      } else {
        // Fresh line splitters per exec: an exec may end its streams when it finishes.
        exec = await this.deps.exec(pod, this.options.container, startArgv(this.options.pidFile, this.options.workdir, this.options.command), this.outputs());
      }
    } catch (error) {
      if (reason === 'start' && this.stats.starts === 0) {
        throw new DevError('RUN_FAILED', `could not start the command in ${pod}/${this.options.container}: ${(error as Error).message}`,
          'check that you may create pods/exec (kubectl auth can-i create pods/exec) and that the dev pod runs (kubectl dev status).');
      }
      this.deps.say(`could not start the command in ${pod}: ${(error as Error).message}; trying again`);
      this.recover();
      return;
    }
    this.current = { exec, pod, generation };
    if (reason === 'start') this.stats.starts++;
    else this.stats.restarts++;
    if (reason === 'start' || this.stats.restarts === 0) this.deps.say(`started in ${pod}: ${this.display}`);
    // The previous exec ends once the start script has stopped its command; its socket may linger.
    if (previous) {
      void this.within(previous.exec.exited, 10_000).then(() => {
        previous.exec.close();
        this.deps.previousGone?.();
      });
    }
    void exec.exited.then((end) => this.ended(generation, end));
    this.prepareStandby(pod);
  }

  private outputs(): { stdout: Writable; stderr: Writable } {
    return { stdout: prefixLines(this.deps.stdout, this.options.prefix), stderr: prefixLines(this.deps.stderr, this.options.prefix) };
  }

  /** Opens the next restart's exec ahead, a moment after a (re)start (not to slow the command's own start). */
  private prepareStandby(pod: string): void {
    const delay = this.options.standbyDelayMs ?? 300;
    if (!this.options.restart || delay < 0 || this.stopped) return;
    this.standbyTimer = setTimeout(() => {
      this.standbyTimer = undefined;
      void (async () => {
        if (this.stopped || this.standby || this.current?.pod !== pod) return;
        const stdin = new PassThrough();
        let exec: RunningExec;
        try {
          exec = await this.deps.exec(pod, this.options.container, standbyArgv(this.options.pidFile, this.options.workdir, this.options.command), this.outputs(), stdin);
        } catch {
          return; // the next restart opens its own exec
        }
        const standby = { exec, pod, stdin };
        // Stopped, restarted or moved meanwhile: this one is not needed.
        if (this.stopped || this.standby || this.current?.pod !== pod) {
          await this.closeStandby(standby);
          return;
        }
        this.standby = standby;
        // An exec that ends unused (its pod went away) is dropped; the next restart opens its own.
        void exec.exited.then(() => {
          if (this.standby === standby) {
            this.standby = undefined;
            exec.close();
          }
        });
      })();
    }, delay);
    this.standbyTimer.unref?.();
  }

  private async dropStandby(): Promise<void> {
    if (this.standbyTimer) clearTimeout(this.standbyTimer);
    this.standbyTimer = undefined;
    const standby = this.standby;
    this.standby = undefined;
    if (standby) await this.closeStandby(standby);
  }

  /** Ends a standby start unused: its stdin ends, so it exits without starting anything. */
  private async closeStandby(standby: { exec: RunningExec; stdin: PassThrough }): Promise<void> {
    standby.stdin.end();
    await this.within(standby.exec.exited, 2_000);
    standby.exec.close();
  }

  private async ended(generation: number, end: ExecEnd): Promise<void> {
    if (this.stopped || this.current?.generation !== generation) return; // replaced on purpose
    const running = this.current;
    this.current = undefined;
    running.exec.close();
    this.stats.exits++;
    // A command that ended because its pod went away (deleted, rescheduled) is not a failure of the code.
    if (end.kind === 'exited' && (await this.deps.findPod().catch(() => undefined)) !== running.pod) {
      end = { kind: 'lost', why: `pod ${running.pod} is gone` };
    }
    if (this.stopped || this.current) return;
    if (end.kind === 'exited') {
      this.deps.say(end.code === 0
        ? `the command exited (code 0)${this.options.restart ? '; it starts again after the next change' : ''}`
        : `the command failed with exit code ${end.code}${this.options.restart ? '; it starts again after the next change' : ''}`);
    } else {
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
    const stignore = join(this.options.localDir, '.stignore');
    let isIgnored = ignoreMatcher([]);
    const loadIgnores = () => {
      try {
        isIgnored = ignoreMatcher(existsSync(stignore) ? readFileSync(stignore, 'utf8').split(/\r?\n/) : ['.git'], syncthingRules());
      } catch {
        isIgnored = ignoreMatcher(['.git'], syncthingRules());
      }
    };
    loadIgnores();
    this.watcher = new FastPath({
      root: this.options.localDir,
      isIgnored: (rel) => isSyncthingFile(rel) || isIgnored(rel),
      maxSubs: 100_000,
      scan: async (subs) => {
        if (subs.includes('.stignore')) loadIgnores();
        this.tracker.saved(subs.length > 0 ? subs : [''], this.deps.clock.now());
        this.schedule();
      },
      onError: (message) => this.deps.say(`watching ${this.options.localDir}: ${message}`),
    });
    this.watcher.start();
  }

  /** The id of the sidecar's latest landing event (0 when there is none yet). */
  private async latestEventId(): Promise<number> {
    const events = await this.deps.sidecar.request<SyncthingEvent[]>('GET', '/rest/events', { since: 0, limit: 1, timeout: 0, events: LANDED_EVENT });
    return events?.at(-1)?.id ?? 0;
  }

  private async followLanding(initialSince: number): Promise<void> {
    let since = initialSince;
    while (!this.stopped) {
      try {
        const events = await this.deps.sidecar.request<SyncthingEvent[]>('GET', '/rest/events', { since, timeout: 20, events: LANDED_EVENT }, undefined, 30_000);
        if (this.stopped) return;
        const paths: string[] = [];
        for (const event of events ?? []) {
          since = Math.max(since, event.id);
          if (event.data?.folder !== this.options.folderId) continue;
          paths.push(...((event.data?.filenames as string[] | undefined) ?? []).filter((p) => !isSyncthingFile(p)));
        }
        if (paths.length > 0) {
          this.tracker.landedIn(paths, this.deps.clock.now());
          this.schedule();
        }
      } catch {
        if (this.stopped) return;
        // A new sidecar (the dev pod was replaced) numbers its events from 1 again.
        await this.deps.clock.sleep(500, this.stopSignal.signal);
        since = await this.latestEventId().catch(() => since);
      }
    }
  }

  private schedule(): void {
    if (this.stopped || !this.options.restart) return;
    const at = this.tracker.nextCheckAt();
    if (at === undefined) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), Math.max(0, at - this.deps.clock.now()));
  }

  private async check(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    await this.dropVanished();
    // Syncthing's own view too: a burst may still be on its way in pieces the watcher has not reported.
    if (this.tracker.nextCheckAt() !== undefined && this.tracker.nextCheckAt()! <= this.deps.clock.now() && this.deps.remoteNeeds) {
      const needs = await this.deps.remoteNeeds().catch(() => 0);
      const now = this.deps.clock.now();
      if (needs > 0) {
        if (this.needsSince === Number.POSITIVE_INFINITY) this.needsSince = now;
        if (now - this.needsSince < (this.options.maxWaitMs ?? 3_000)) {
          this.timer = setTimeout(() => void this.check(), 50);
          return;
        }
      }
    }
    this.needsSince = Number.POSITIVE_INFINITY;
    const due = this.tracker.take(this.deps.clock.now());
    if (!due) {
      this.schedule();
      return;
    }
    if (!this.started) return; // the first start comes after the initial sync anyway
    await this.serially(() => this.restartFor(due));
  }

  /** Saved paths that are gone and that syncthing never indexed (an editor's temp files) will not land. */
  private async dropVanished(): Promise<void> {
    for (const path of this.tracker.waitingFor()) {
      if (path === '' || existsSync(join(this.options.localDir, path))) continue;
      try {
        await this.deps.local.request('GET', '/rest/db/file', { folder: this.options.folderId, file: path });
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
