// The start and stop scripts `run` sends with exec, run by this machine's /bin/sh
// (dash on Debian), with real process trees.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STANDBY_GO, pidFileOf, standbyArgv, startArgv, stopArgv } from '../../../src/run/scripts.ts';
import { tempDir, until } from '../sync/support.ts';

const dir = tempDir('run-scripts');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Running, and not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function pidsIn(file: string): number[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

function start(pidFile: string, command: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null>; signal: Promise<NodeJS.Signals | null> } {
  const [cmd, ...args] = startArgv(pidFile, dir, command);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, out: () => out, exited: new Promise((r) => child.on('exit', (code) => r(code))), signal: new Promise((r) => child.on('exit', (_code, signal) => r(signal))) };
}

describe('run scripts', () => {
  it('names the pid file per workload key, safely', () => {
    expect(pidFileOf('shop.deployment-web.app')).toBe('/tmp/kubectl-dev-run.shop.deployment-web.app.pid');
    expect(pidFileOf('a/b c')).toBe('/tmp/kubectl-dev-run.a_b_c.pid');
  });

  it('starts in the work dir, and a restart stops the whole previous tree first', async () => {
    const pidFile = path.join(dir, 'a.pid');
    const children = path.join(dir, 'children');
    // A command with a child and a grandchild, which write their pids.
    const first = start(pidFile, ['/bin/sh', '-c', `pwd; sleep 300 & echo $! >> ${children}; (sleep 301 & echo $! >> ${children}; wait) & wait`]);
    // The pids go to a file, the pwd through a pipe: each is waited for.
    await until('two descendants and the first line', () => pidsIn(children).length === 2 && first.out().includes('\n'));
    expect(first.out()).toBe(`${dir}\n`);
    const [pid] = fs.readFileSync(pidFile, 'utf8').split(' ').map(Number);
    expect(pid).toBe(first.child.pid);
    const descendants = pidsIn(children);
    expect(descendants.every(running)).toBe(true);

    const second = start(pidFile, ['/bin/sh', '-c', 'echo second; exec sleep 302']);
    await until('second started', () => second.out().includes('second'));
    expect(await first.signal).toBe('SIGTERM');
    expect(descendants.some(running)).toBe(false);
    expect(Number(fs.readFileSync(pidFile, 'utf8').split(' ')[0])).toBe(second.child.pid);

    const [stop, ...stopArgs] = stopArgv(pidFile);
    expect(spawnSync(stop!, stopArgs).status).toBe(0);
    expect(await second.exited).toBeNull();
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('kills a command that ignores TERM after the grace period', async () => {
    const pidFile = path.join(dir, 'b.pid');
    const stubborn = start(pidFile, ['/bin/sh', '-c', "trap '' TERM; echo up; while :; do sleep 1; done"]);
    await until('up', () => stubborn.out().includes('up'));
    const [stop, ...stopArgs] = stopArgv(pidFile);
    expect(spawnSync(stop!, stopArgs).status).toBe(0);
    expect(await stubborn.signal).toBe('SIGKILL');
  }, 20_000);

  it('leaves alone a process that only reuses a recorded pid (start time differs)', () => {
    const pidFile = path.join(dir, 'c.pid');
    // This test process's pid with a start time that is not its own.
    fs.writeFileSync(pidFile, `${process.pid} 1\n`);
    const [stop, ...stopArgs] = stopArgv(pidFile);
    expect(spawnSync(stop!, stopArgs).status).toBe(0);
    expect(running(process.pid)).toBe(true);
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('a standby start waits for its line on stdin, then stops the previous run and starts; stdin ending first starts nothing', async () => {
    const pidFile = path.join(dir, 'e.pid');
    const first = start(pidFile, ['/bin/sh', '-c', 'echo first; exec sleep 303']);
    await until('first', () => first.out().includes('first'));
    const standby = (stdin: string | undefined) => {
      const [cmd, ...args] = standbyArgv(pidFile, dir, ['/bin/sh', '-c', 'pwd; cat; echo "stdin ended"; exec sleep 304']);
      const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      if (stdin !== undefined) child.stdin!.write(stdin);
      return { child, out: () => out, exited: new Promise<number | null>((r) => child.on('exit', (code) => r(code))) };
    };
    // Ended unused: exits 0, the first run untouched.
    const unused = standby(undefined);
    unused.child.stdin!.end();
    expect(await unused.exited).toBe(0);
    expect(unused.out()).toBe('');
    expect(running(first.child.pid!)).toBe(true);
    // Released: the first run is stopped, the command starts in the work dir with stdin from /dev/null.
    const used = standby(STANDBY_GO);
    await until('the command', () => used.out().includes('stdin ended'));
    expect(used.out()).toBe(`${fs.realpathSync(dir)}\nstdin ended\n`);
    expect(await first.exited).toBeNull();
    expect(Number(fs.readFileSync(pidFile, 'utf8').split(' ')[0])).toBe(used.child.pid);
    const [stop, ...stopArgs] = stopArgv(pidFile);
    expect(spawnSync(stop!, stopArgs).status).toBe(0);
    expect(await used.exited).toBeNull();
  });

  it('fails with 126 when the work dir is missing', async () => {
    const [cmd, ...args] = startArgv(path.join(dir, 'd.pid'), path.join(dir, 'missing'), ['true']);
    const r = spawnSync(cmd!, args, { encoding: 'utf8' });
    expect(r.status).toBe(126);
  });
});
