// The default dev command run for real: it blocks, and ends at once with status 0 on
// SIGTERM or SIGINT, in the shells images have as /bin/sh (dash, busybox, bash). As
// PID 1 (in a PID namespace, when this machine allows one) it is what the kubelet
// stops; there a shell without the trap ignores SIGTERM until the grace period ends. The
// sidecar's script, while it waits for the sync Secret, is such a PID 1 too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, describe, it } from 'vitest';
import { sidecarScript } from '../../../src/core/pod.ts';
import { DEFAULT_COMMAND, SYNCTHING_SECRET_DIR } from '../../../src/core/settings.ts';

const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
const BASH = ['/bin/bash', '/usr/bin/bash'].find((p) => fs.existsSync(p));

const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function start(argv: readonly string[]): ChildProcess {
  // Its own process group, so that nothing it leaves behind outlives the test.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
  started.push(child);
  return child;
}

interface Ended {
  code: number | null | 'still running';
  signal: NodeJS.Signals | null;
  ms: number;
}

function ended(child: ChildProcess, since: () => number): Promise<Ended> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode, ms: since() });
    else child.once('exit', (code, signal) => resolve({ code, signal, ms: since() }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Gone, or a zombie waiting for its new parent to reap it. */
function isDead(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    return true;
  }
}

/** Signals `pid` after 1.5 s of blocking; resolves with how `child` ended and when (or that it runs 2 s later). */
async function stopAfterBlocking(child: ChildProcess, pid: number, signal: NodeJS.Signals): Promise<Ended & { blockedFor: boolean }> {
  let signalledAt = 0;
  const end = ended(child, () => performance.now() - signalledAt);
  const early = await Promise.race([end.then(() => true), sleep(1_500).then(() => false)]);
  signalledAt = performance.now();
  process.kill(pid, signal);
  const result = await Promise.race([end, sleep(2_000).then((): Ended => ({ code: 'still running', signal: null, ms: 2_000 }))]);
  return { ...result, blockedFor: !early };
}

const shells: Array<[string, string[]]> = [
  ['/bin/sh (this machine\'s)', [...DEFAULT_COMMAND]],
  ...(BUSYBOX ? [['busybox sh', [BUSYBOX, 'sh', ...DEFAULT_COMMAND.slice(1)]] as [string, string[]]] : []),
  ...(BASH ? [['bash', [BASH, ...DEFAULT_COMMAND.slice(1)]] as [string, string[]]] : []),
];

describe.concurrent('the default dev command', () => {
  it('is a shell script that blocks on tail -f /dev/null', ({ expect }) => {
    expect(DEFAULT_COMMAND.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(DEFAULT_COMMAND[2]).toContain('tail -f /dev/null');
    expect(BUSYBOX, 'busybox is needed for this test (apt-get install busybox)').toBeDefined();
  });

  it.for(shells)('with %s: blocks, then ends with status 0 within a second of SIGTERM or SIGINT, and takes tail with it', async ([, argv], { expect }) => {
    const runs = (['SIGTERM', 'SIGINT'] as const).map(async (signal) => {
      const child = start(argv);
      await sleep(300);
      const tails = childrenOf(child.pid!);
      const result = await stopAfterBlocking(child, child.pid!, signal);
      return { sent: signal, tails, ...result };
    });
    for (const run of await Promise.all(runs)) {
      expect(run, run.sent).toMatchObject({ blockedFor: true, code: 0, signal: null });
      expect(run.ms, run.sent).toBeLessThan(1_000);
      expect(run.tails, 'the shell runs tail as its child').toHaveLength(1);
      await expect.poll(() => isDead(run.tails[0]!), { timeout: 1_000 }).toBe(true);
    }
  });

  it('as PID 1 of a PID namespace, ends on SIGTERM, where the same shell without the trap ignores it', async ({ expect }) => {
    expect(unshare, 'unshare --pid (util-linux, as root) is needed for this test').toBe(true);
    const [ours, plain] = await Promise.all([asPid1(DEFAULT_COMMAND), asPid1(['/bin/sh', '-c', 'tail -f /dev/null'])]);
    expect(ours).toMatchObject({ blockedFor: true, code: 0, signal: null });
    expect(ours.ms).toBeLessThan(1_000);
    expect(plain).toMatchObject({ blockedFor: true, code: 'still running' });
  });

  it('the sidecar\'s script, as PID 1 waiting for the sync Secret, ends on SIGTERM too', async ({ expect }) => {
    expect(unshare, 'unshare --pid (util-linux, as root) is needed for this test').toBe(true);
    expect(fs.existsSync(`${SYNCTHING_SECRET_DIR}/config.xml`), 'no sync Secret on this machine: the script waits').toBe(false);
    const shell = BUSYBOX ? [BUSYBOX, 'sh'] : ['/bin/sh'];
    const result = await asPid1([...shell, '-c', sidecarScript()]);
    expect(result).toMatchObject({ blockedFor: true, code: 0, signal: null });
    expect(result.ms).toBeLessThan(1_000);
  });
});

const unshare = spawnSync('unshare', ['--pid', '--fork', '--kill-child=SIGKILL', 'true'], { stdio: 'ignore' }).status === 0;

/** Runs `command` as PID 1 of a new PID namespace; after 1.5 s of blocking, SIGTERMs that PID 1. */
async function asPid1(command: readonly string[]): Promise<Ended & { blockedFor: boolean }> {
  const outer = start(['unshare', '--pid', '--fork', '--kill-child=SIGKILL', ...command]);
  let pid1: number | undefined;
  for (let i = 0; i < 50 && pid1 === undefined; i++) {
    await sleep(20);
    pid1 = childrenOf(outer.pid!)[0];
  }
  if (pid1 === undefined) throw new Error('the namespace\'s PID 1 did not start');
  await sleep(300);
  return stopAfterBlocking(outer, pid1, 'SIGTERM');
}
