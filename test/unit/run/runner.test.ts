// The runner through its seam (RunnerDeps), with the in-memory fakes of fakes.ts passed
// in: what it execs in which pod, and the lines the user sees. Time is virtual.
import { afterEach, describe, expect, it } from 'vitest';
import { Runner, type RunnerDeps, type RunnerOptions } from '../../../src/run/runner.ts';
import { standbyArgv, startArgv, stopArgv } from '../../../src/run/scripts.ts';
import { RestError } from '../../../src/sync/rest.ts';
import { Collected, FakeClock, FakeExecs, FakeSidecar, FakeTree, settle } from './fakes.ts';

const FOLDER = 'kubectl-dev';
const PID_FILE = '/tmp/kubectl-dev-run.ns.deployment-app.app.pid';
const COMMAND = ['/bin/sh', '-c', 'npm run dev'];

function world(options: Partial<RunnerOptions> = {}, extra: Partial<RunnerDeps> = {}) {
  const clock = new FakeClock();
  const execs = new FakeExecs();
  const sidecar = new FakeSidecar(clock, FOLDER);
  const tree = new FakeTree();
  const stdout = new Collected();
  const stderr = new Collected();
  const said: string[] = [];
  const pods = { ready: 'app-dev-1' as string | undefined };
  /** Paths the local syncthing has indexed (the others answer 404). */
  const indexed = new Set<string>();
  const waits: number[] = [];
  const runner = new Runner({
    command: COMMAND, container: 'app', workdir: '/work', pidFile: PID_FILE, folderId: FOLDER, restart: true, prefix: '[app] ', ...options,
  }, {
    exec: execs.fn,
    findPod: async () => pods.ready,
    waitInSync: async (ms) => void waits.push(ms),
    sidecar: sidecar.rest,
    local: {
      fileInfo: async (folder, file) => {
        if (folder === FOLDER && indexed.has(file)) return { local: { name: file } };
        throw new RestError(`GET /rest/db/file: HTTP 404 no such object in the index`, 'unix:/gui.sock', 404);
      },
    },
    tree, clock, stdout, stderr,
    say: (line) => said.push(line),
    ...extra,
  });

  /** Runs virtual time forward, sleep by sleep, until `done()` (at most `limitMs` of it). */
  async function until(what: string, done: () => boolean, limitMs = 120_000): Promise<void> {
    const limit = clock.now() + limitMs;
    for (;;) {
      await settle();
      if (done()) return;
      const next = clock.nextAt();
      if (next === undefined || next > limit) throw new Error(`never happened: ${what}\nsaid:\n${said.join('\n')}`);
      clock.moveTo(next);
    }
  }

  /** Lets `ms` of virtual time pass. */
  async function pass(ms: number): Promise<void> {
    const end = clock.now() + ms;
    for (;;) {
      await settle();
      const next = clock.nextAt();
      if (next === undefined || next > end) break;
      clock.moveTo(next);
    }
    clock.moveTo(end);
    await settle();
  }

  async function run<T>(what: string, promise: Promise<T>): Promise<T> {
    let done = false;
    let value: T | undefined;
    let failure: unknown;
    promise.then((v) => { value = v; done = true; }, (e) => { failure = e; done = true; });
    await until(what, () => done);
    if (failure !== undefined) throw failure;
    return value as T;
  }

  const started = () => said.filter((l) => l.startsWith('started in '));
  return { runner, clock, execs, sidecar, tree, stdout, stderr, said, pods, indexed, waits, until, pass, run, started };
}

let stopAfter: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stopAfter.splice(0)) await stop();
});

async function started(options: Partial<RunnerOptions> = {}, extra: Partial<RunnerDeps> = {}) {
  const w = world(options, extra);
  stopAfter.push(() => w.run('stopped', w.runner.stop()));
  await w.run('the start', w.runner.start(300_000));
  return w;
}

describe('the runner through its deps', () => {
  it('starts the command in the ready dev pod once it is in sync, and prefixes its output', async () => {
    const w = await started();
    expect(w.waits).toEqual([300_000]);
    expect(w.execs.calls.map((c) => [c.kind, c.pod, c.container])).toEqual([['start', 'app-dev-1', 'app']]);
    expect(w.execs.calls[0]!.argv).toEqual(startArgv(PID_FILE, '/work', COMMAND));
    expect(w.said).toEqual(['started in app-dev-1: npm run dev']);
    w.execs.running!.print('listening on 8080');
    w.execs.running!.out.stderr.write('a warning\npartial');
    await settle();
    expect(w.stdout.text).toBe('[app] listening on 8080\n');
    expect(w.stderr.text).toBe('[app] a warning\n');
  });

  it('a synced change restarts the command through the exec opened ahead', async () => {
    const w = await started();
    await w.pass(300);
    expect(w.execs.calls.map((c) => c.kind)).toEqual(['start', 'standby']);
    expect(w.execs.calls[1]!.argv).toEqual(standbyArgv(PID_FILE, '/work', COMMAND));
    const first = w.execs.running!;
    w.tree.save('src/app.js');
    w.sidecar.landed(['src/app.js']);
    await w.until('the restart', () => w.execs.running !== first);
    expect(w.said.at(-1)).toBe('1 change(s) landed in the container (src/app.js): restarting');
    expect(w.execs.running).toBe(w.execs.calls[1]);
    expect(w.execs.calls[1]!.stdinText).toBe('go\n');
    expect(first.ended).toEqual({ kind: 'exited', code: 143 });
    expect(first.closed).toBe(true);
    // The next restart gets its own standby.
    await w.pass(300);
    expect(w.execs.calls.map((c) => c.kind)).toEqual(['start', 'standby', 'standby']);
    expect(w.said.filter((l) => /failed|exited|lost/.test(l))).toEqual([]);
  });

  it('without a standby (delay < 0), a restart is a new start exec in the same pod', async () => {
    const w = await started({ standbyDelayMs: -1 });
    w.sidecar.landed(['main.go']);
    await w.until('the restart', () => w.execs.calls.length === 2);
    expect(w.execs.calls.map((c) => [c.kind, c.pod])).toEqual([['start', 'app-dev-1'], ['start', 'app-dev-1']]);
    expect(w.said).toEqual(['started in app-dev-1: npm run dev', '1 change(s) landed in the container (main.go): restarting']);
  });

  it('only changes matching --restart-on restart; the others land without a restart', async () => {
    const w = await started({ restartOn: ['*.py'], standbyDelayMs: -1 });
    w.sidecar.landed(['README.md', 'docs/guide.md']);
    await w.pass(10_000);
    expect(w.execs.calls).toHaveLength(1);
    w.sidecar.landed(['pkg/app.py']);
    await w.until('the restart', () => w.execs.calls.length === 2);
    expect(w.said.at(-1)).toBe('1 change(s) landed in the container (pkg/app.py): restarting');
  });

  it('a burst restarts once, after every saved path has landed', async () => {
    const w = await started({ standbyDelayMs: -1 });
    const files = Array.from({ length: 8 }, (_, i) => `data/f${i}.txt`);
    w.tree.save(...files);
    w.sidecar.landed(files.slice(0, 5));
    await w.pass(1_000);
    expect(w.execs.calls).toHaveLength(1); // three are still on their way
    w.sidecar.landed(files.slice(5));
    await w.until('the restart', () => w.execs.calls.length === 2);
    await w.pass(5_000);
    expect(w.execs.calls).toHaveLength(2);
    expect(w.said.at(-1)).toBe('8 change(s) landed in the container (data/f0.txt, data/f1.txt, data/f2.txt, data/f3.txt, data/f4.txt and 3 more): restarting');
  });

  it('syncthing\'s own files, ignored paths and vanished temp files hold no restart back', async () => {
    const w = await started({ standbyDelayMs: -1 });
    const watch = w.tree.watching!;
    expect(['.stfolder', 'sub/.stversions/a', 'x/.syncthing.a.js.tmp', '~syncthing~b.tmp', '.git/index'].map((p) => watch.isIgnored(p))).toEqual([true, true, true, true, true]);
    expect(watch.isIgnored('.stignore')).toBe(false); // watched: a change to it reloads the rules
    expect(watch.isIgnored('node_modules/x.js')).toBe(false);
    w.tree.stignore = ['node_modules'];
    w.tree.save('.stignore');
    expect(watch.isIgnored('node_modules/x.js')).toBe(true);
    expect(watch.isIgnored('.git/index')).toBe(false); // .stignore no longer names it
    // A temp file the editor removed before syncthing saw it, and syncthing's own .stignore, never land.
    w.tree.save('.app.js.swp', 'app.js');
    w.tree.files.delete('.app.js.swp');
    w.sidecar.landed(['app.js', '.stfolder']);
    await w.until('the restart', () => w.execs.calls.length === 2);
    expect(w.said.at(-1)).toBe('1 change(s) landed in the container (app.js): restarting');
    expect(w.said.some((l) => /did not reach the container/.test(l))).toBe(false);
  });

  it('a saved path that never lands holds the restart back for maxWaitMs, then is reported', async () => {
    const w = await started({ standbyDelayMs: -1 });
    w.tree.save('a.js', 'b.js');
    w.indexed.add('b.js');
    w.sidecar.landed(['a.js']);
    await w.pass(2_000);
    expect(w.execs.calls).toHaveLength(1);
    await w.until('the restart', () => w.execs.calls.length === 2, 5_000);
    expect(w.said.slice(-2)).toEqual([
      '1 saved path(s) did not reach the container in time (b.js); restarting anyway — see kubectl dev status',
      '1 change(s) landed in the container (a.js): restarting',
    ]);
  });

  it('a command that fails is reported, and starts again after the next change (not in a loop)', async () => {
    const w = await started({ standbyDelayMs: -1 });
    w.execs.running!.exit(3);
    await w.until('the failure reported', () => w.said.some((l) => /failed/.test(l)));
    expect(w.said.at(-1)).toBe('the command failed with exit code 3; it starts again after the next change');
    await w.pass(60_000);
    expect(w.execs.calls).toHaveLength(1);
    w.sidecar.landed(['fix.js']);
    await w.until('the new start', () => w.execs.calls.length === 2);
    expect(w.execs.calls[1]!.argv).toEqual(startArgv(PID_FILE, '/work', COMMAND));
    expect(w.said.at(-1)).toBe('1 change(s) landed in the container (fix.js): starting');
  });

  it('a failure with a standby held starts the next change through a fresh exec and closes the standby unused', async () => {
    const w = await started();
    await w.pass(300);
    const standby = w.execs.of('standby')[0]!;
    w.execs.running!.exit(1);
    await w.until('the failure reported', () => w.said.some((l) => /failed/.test(l)));
    w.sidecar.landed(['fix.js']);
    await w.until('the new start', () => w.execs.of('start').length === 2);
    expect(standby.stdinEnded).toBe(true);
    expect(standby.stdinText).toBe('');
    expect(standby.ended).toEqual({ kind: 'exited', code: 0 });
  });

  it('--no-restart: the command runs once; its exit is reported without a restart; nothing is watched', async () => {
    const w = await started({ restart: false });
    expect(w.tree.watching).toBeUndefined();
    w.execs.running!.exit(0);
    await w.until('the exit reported', () => w.said.length === 2);
    expect(w.said.at(-1)).toBe('the command exited (code 0)');
    w.sidecar.landed(['app.js']);
    await w.pass(60_000);
    expect(w.execs.calls.map((c) => c.kind)).toEqual(['start']);
  });

  it('stop ends the command with the stop script, closes the standby and the watcher', async () => {
    const w = world();
    await w.run('the start', w.runner.start(60_000));
    await w.pass(300);
    const command = w.execs.running!;
    const standby = w.execs.of('standby')[0]!;
    await w.run('stopped', w.runner.stop());
    expect(w.execs.calls.map((c) => c.kind)).toEqual(['start', 'standby', 'stop']);
    const stop = w.execs.of('stop')[0]!;
    expect([stop.pod, stop.container, stop.argv]).toEqual(['app-dev-1', 'app', stopArgv(PID_FILE)]);
    expect(command.ended).toEqual({ kind: 'exited', code: 143 });
    expect([command.closed, stop.closed, standby.stdinEnded, standby.closed, w.tree.watchClosed]).toEqual([true, true, true, true, true]);
    // Nothing starts after stop.
    w.sidecar.landed(['app.js']);
    await w.pass(60_000);
    expect(w.execs.calls).toHaveLength(3);
    expect(w.said.filter((l) => /failed|exited|lost/.test(l))).toEqual([]);
  });

  it('stop after a lost exec still runs the stop script where the command ran (a lost connection does not end it)', async () => {
    const w = await started({ standbyDelayMs: -1 });
    w.execs.running!.lose('the exec connection closed');
    await w.until('the loss reported', () => w.said.some((l) => /^lost/.test(l)));
    await w.run('stopped', w.runner.stop());
    expect(w.execs.calls.map((c) => [c.kind, c.pod])).toEqual([['start', 'app-dev-1'], ['stop', 'app-dev-1']]);
    expect(w.execs.of('stop')[0]!.argv).toEqual(stopArgv(PID_FILE));
  });

  it('a stop script that cannot be opened is reported; stop still returns', async () => {
    const w = world({ standbyDelayMs: -1 });
    await w.run('the start', w.runner.start(60_000));
    w.execs.failNext = 'pods "app-dev-1" not found';
    await w.run('stopped', w.runner.stop());
    expect(w.said.at(-1)).toBe('could not stop the command in app-dev-1: pods "app-dev-1" not found');
  });

  it('follows a replaced dev pod: the command starts in the new one once it is in sync, and its changes restart it there', async () => {
    const w = await started({ standbyDelayMs: -1 });
    // The old pod goes away with its sidecar; the new one becomes ready.
    w.pods.ready = undefined;
    w.sidecar.gone();
    w.execs.running!.lose('the exec connection closed');
    await w.until('the loss reported', () => w.said.some((l) => /^lost/.test(l)));
    expect(w.said.at(-1)).toBe('lost the command in app-dev-1 (the exec connection closed); it starts again once the dev pod is back and in sync');
    await w.pass(10_000);
    expect(w.execs.calls).toHaveLength(1);
    w.pods.ready = 'app-dev-2';
    w.sidecar.replaced();
    await w.until('the start in the new pod', () => w.started().length === 2);
    expect(w.started()).toEqual(['started in app-dev-1: npm run dev', 'started in app-dev-2: npm run dev']);
    expect(w.execs.calls.map((c) => [c.kind, c.pod])).toEqual([['start', 'app-dev-1'], ['start', 'app-dev-2']]);
    expect(w.waits).toEqual([300_000, 30_000]);
    // The new sidecar numbers its events from 1 again: they are still seen.
    w.sidecar.landed(['app.js']);
    await w.until('the restart in the new pod', () => w.execs.calls.length === 3);
    expect(w.execs.calls[2]!.pod).toBe('app-dev-2');
  });

  it('a command that exits because its pod is gone counts as lost, not as a failure of the code', async () => {
    const w = await started({ standbyDelayMs: -1 });
    w.pods.ready = 'app-dev-2';
    w.execs.running!.exit(137);
    await w.until('the loss reported', () => w.said.some((l) => /^lost/.test(l)));
    expect(w.said.at(-1)).toBe('lost the command in app-dev-1 (pod app-dev-1 is gone); it starts again once the dev pod is back and in sync');
    await w.until('the start in the new pod', () => w.started().length === 2);
    expect(w.execs.calls.at(-1)!.pod).toBe('app-dev-2');
    expect(w.said.some((l) => /failed/.test(l))).toBe(false);
  });

  it('without a ready dev pod the first start waits for one', async () => {
    const w = world({ standbyDelayMs: -1 });
    stopAfter.push(() => w.run('stopped', w.runner.stop()));
    w.pods.ready = undefined;
    await w.run('the start', w.runner.start(60_000));
    expect(w.said).toEqual(['no ready dev pod: the command starts when there is one']);
    w.pods.ready = 'app-dev-1';
    await w.until('the start', () => w.started().length === 1);
    expect(w.execs.calls.map((c) => c.pod)).toEqual(['app-dev-1']);
  });

  it('a first start that cannot exec fails with RUN_FAILED and a hint', async () => {
    const w = world({ standbyDelayMs: -1 });
    stopAfter.push(() => w.run('stopped', w.runner.stop()));
    w.execs.failNext = 'pods "app-dev-1" is forbidden';
    await expect(w.run('the start', w.runner.start(60_000))).rejects.toMatchObject({
      code: 'RUN_FAILED', message: 'could not start the command in app-dev-1/app: pods "app-dev-1" is forbidden',
    });
  });

  it('a sidecar that never answers fails the start with SYNC_TIMEOUT after the timeout', async () => {
    const w = world();
    stopAfter.push(() => w.run('stopped', w.runner.stop()));
    w.sidecar.gone();
    const at = w.clock.now();
    await expect(w.run('the start', w.runner.start(5_000))).rejects.toMatchObject({ code: 'SYNC_TIMEOUT' });
    expect(w.clock.now() - at).toBeGreaterThan(5_000);
    expect(w.execs.calls).toEqual([]);
  });

  it('a restart waits while the local syncthing says the sidecar still needs items (up to maxWaitMs)', async () => {
    let needs = 2;
    const w = await started({ standbyDelayMs: -1 }, { remoteNeeds: async () => needs });
    w.sidecar.landed(['a.js']);
    await w.pass(1_000);
    expect(w.execs.calls).toHaveLength(1);
    needs = 0;
    await w.until('the restart', () => w.execs.calls.length === 2, 1_000);
  });
});
