// The laptop-side machinery with real processes and files: binary discovery,
// the state dir and its lock, the supervisor, the fast path watcher.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { delaysNewConnections, findSyncthing, isSupported, parseVersion, serveArgs, serveEnv } from '../../../src/sync/binary.ts';
import { configXml, localConfig } from '../../../src/sync/config.ts';
import { generateIdentity, randomGuiCredentials } from '../../../src/sync/identity.ts';
import { isAlive, Supervisor } from '../../../src/sync/process.ts';
import { acquireLock, configDir, ensurePrivateDir, readLock, statePaths, workloadKey, writePrivateFile } from '../../../src/sync/state.ts';
import { FastPath } from '../../../src/sync/watch.ts';
import { ignoreMatcher } from '../../../src/sync/ignores.ts';
import { freePort, syncthingForTests, tempDir, until } from './support.ts';

const dirs: string[] = [];
const mk = (prefix: string) => {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function script(dir: string, name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

describe('finding syncthing', () => {
  it('parses versions of 1.x and 2.x', () => {
    expect(parseVersion('syncthing v1.19.2-ds1 "Fermium Flea" (go1.19.8 linux-amd64) debian@debian 2023-04-09 10:47:16 UTC')).toMatchObject({ major: 1, minor: 19, patch: 2, version: 'v1.19.2-ds1' });
    expect(parseVersion('syncthing v2.0.10 "Hafnium Hornet" (go1.25.1 darwin-arm64)')).toMatchObject({ major: 2, minor: 0, patch: 10 });
    expect(parseVersion('nothing here')).toBeUndefined();
    expect(isSupported({ major: 1, minor: 18, patch: 9 })).toBe(false);
    expect(isSupported({ major: 1, minor: 19, patch: 0 })).toBe(true);
    expect(isSupported({ major: 2, minor: 0, patch: 0 })).toBe(true);
    expect(isSupported({ major: 0, minor: 14, patch: 0 })).toBe(false);
  });

  it('knows which versions use a new connection only a second after it came up (1.28 and later)', () => {
    expect(delaysNewConnections({ major: 1, minor: 19 })).toBe(false);
    expect(delaysNewConnections({ major: 1, minor: 27 })).toBe(false);
    expect(delaysNewConnections({ major: 1, minor: 28 })).toBe(true);
    expect(delaysNewConnections(parseVersion('syncthing v1.29.2 "Gold Grasshopper"')!)).toBe(true);
    expect(delaysNewConnections({ major: 2, minor: 0 })).toBe(true);
  });

  it('takes --syncthing, then $KUBECTL_DEV_SYNCTHING, then PATH', async () => {
    const bin = mk('st-bin');
    const a = script(bin, 'a', 'echo \'syncthing v1.27.0 "Gold Grasshopper"\'');
    const b = script(bin, 'b', 'echo \'syncthing v1.23.0 "Fermium Flea"\'');
    const onPath = mk('st-path');
    script(onPath, 'syncthing', 'echo \'syncthing v1.20.0 "x"\'');
    const env = { PATH: onPath, KUBECTL_DEV_SYNCTHING: b };
    expect(await findSyncthing({ flag: a, env, cwd: bin })).toMatchObject({ path: a, source: 'flag', minor: 27 });
    expect(await findSyncthing({ env, cwd: bin })).toMatchObject({ path: b, source: 'env', minor: 23 });
    expect(await findSyncthing({ env: { PATH: onPath }, cwd: bin, embedded: false })).toMatchObject({ path: path.join(onPath, 'syncthing'), source: 'path', minor: 20 });
  });

  it('falls back to `syncthing version` (2.x) and finds the real one', async () => {
    const bin = mk('st-bin2');
    const v2 = script(bin, 'st2', '[ "$1" = version ] && echo \'syncthing v2.0.3 "Hafnium Hornet"\' && exit 0; echo "unknown flag $1" >&2; exit 80');
    expect(await findSyncthing({ flag: v2, env: {}, cwd: bin })).toMatchObject({ major: 2, patch: 3 });
    expect(await findSyncthing({ env: { ...process.env, KUBECTL_DEV_SYNCTHING: syncthingForTests() }, cwd: bin })).toMatchObject({ path: syncthingForTests(), major: 1 });
  });

  it('says how to install it when it is missing, too old, or not syncthing', async () => {
    const bin = mk('st-bin3');
    await expect(findSyncthing({ env: { PATH: bin }, cwd: bin, embedded: false })).rejects.toMatchObject({ code: 'SYNCTHING_NOT_FOUND', hint: expect.stringMatching(/apt-get install syncthing.*--syncthing PATH/) });
    const old = script(bin, 'old', 'echo \'syncthing v1.12.1 "Fermium Flea"\'');
    await expect(findSyncthing({ flag: old, env: {}, cwd: bin })).rejects.toMatchObject({ code: 'SYNCTHING_TOO_OLD', message: expect.stringMatching(/v1\.12\.1 .* too old; kubectl-dev needs 1\.19/) });
    const other = script(bin, 'other', 'echo "rsync version 3.2.7"');
    await expect(findSyncthing({ flag: other, env: {}, cwd: bin })).rejects.toMatchObject({ code: 'SYNCTHING_NOT_FOUND', message: expect.stringMatching(/does not look like syncthing/) });
    await expect(findSyncthing({ flag: path.join(bin, 'missing'), env: {}, cwd: bin })).rejects.toMatchObject({ code: 'SYNCTHING_NOT_FOUND', message: expect.stringMatching(/from --syncthing .* not an executable/) });
  });
});

describe('state dir', () => {
  const target = { cluster: 'https://127.0.0.1:6443', namespace: 'shop', kind: 'Deployment', name: 'web' };

  it('lives under $XDG_CONFIG_HOME/kubectl-dev, one key per workload and cluster', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x' })).toBe('/x/kubectl-dev');
    expect(configDir({}, '/home/u')).toBe('/home/u/.config/kubectl-dev');
    expect(workloadKey(target)).toMatch(/^shop\.deployment\.web-[0-9a-z]{7}$/);
    expect(workloadKey({ ...target, cluster: 'https://other:6443' })).not.toBe(workloadKey(target));
    expect(workloadKey({ ...target, name: 'x'.repeat(250) }).length).toBeLessThanOrEqual(120);
    expect(statePaths({ XDG_CONFIG_HOME: '/x' }, target).dir).toBe(`/x/kubectl-dev/sync/${workloadKey(target)}`);
  });

  it('keeps directories 0700 and files 0600', () => {
    const root = mk('state');
    const dir = path.join(root, 'a', 'b');
    ensurePrivateDir(dir);
    writePrivateFile(path.join(dir, 'key.pem'), 'secret');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it('lets one process hold the lock; a dead holder’s lock is taken over', async () => {
    const root = mk('lock');
    const lock = path.join(root, 'sync.lock');
    const release = acquireLock(lock, 'deployment/web');
    expect(readLock(lock)?.pid).toBe(process.pid);
    expect(fs.statSync(lock).mode & 0o777).toBe(0o600);
    release();
    expect(fs.existsSync(lock)).toBe(false);

    // A live other process holds it.
    const child = spawn('sleep', ['30']);
    await until('child started', () => child.pid);
    fs.writeFileSync(lock, JSON.stringify({ pid: child.pid, startedAt: 'then' }));
    expect(() => acquireLock(lock, 'deployment/web')).toThrow(expect.objectContaining({ code: 'SYNC_ALREADY_RUNNING', message: expect.stringContaining(`pid ${child.pid}`) }));
    // Same pid but a different command line (pid reuse) does not count.
    fs.writeFileSync(lock, JSON.stringify({ pid: child.pid, command: 'something else', startedAt: 'then' }));
    acquireLock(lock, 'deployment/web')();
    child.kill();
    await until('child gone', () => !isAlive(child.pid!) || child.exitCode !== null || child.signalCode !== null);
    fs.writeFileSync(lock, JSON.stringify({ pid: 999_999_999, startedAt: 'then' }));
    const again = acquireLock(lock, 'deployment/web');
    expect(readLock(lock)?.pid).toBe(process.pid);
    again();
  });
});

describe('supervisor', () => {
  it('restarts a crashing process with a growing delay, and at once on exit code 3', async () => {
    const dir = mk('sup');
    const counter = path.join(dir, 'runs');
    const exe = script(dir, 'crash', `echo x >> ${counter}; n=$(wc -l < ${counter}); echo "run $n"; [ "$n" = 2 ] && exit 3; exit 1`);
    const exits: Array<{ code: number | null; restartInMs: number | undefined }> = [];
    const sup = new Supervisor({ command: exe, args: [], env: process.env, logFile: path.join(dir, 'log'), backoff: { initialMs: 50, maxMs: 400, resetAfterMs: 60_000 }, onExit: ({ code, restartInMs }) => exits.push({ code, restartInMs }) });
    await sup.start();
    await until('5 exits', () => exits.length >= 5, 10_000);
    await sup.stop();
    expect(exits.slice(0, 5)).toEqual([
      { code: 1, restartInMs: 50 },
      { code: 3, restartInMs: 0 },
      { code: 1, restartInMs: 100 },
      { code: 1, restartInMs: 200 },
      { code: 1, restartInMs: 400 },
    ]);
    expect(sup.lastLines()).toContain('run 2');
  });

  const syncthingHome = async () => {
    const home = mk('sup-st');
    const folder = mk('sup-folder');
    const id = generateIdentity();
    fs.writeFileSync(path.join(home, 'cert.pem'), id.certPem);
    fs.writeFileSync(path.join(home, 'key.pem'), id.keyPem);
    fs.writeFileSync(path.join(home, 'config.xml'), configXml(localConfig({
      localDeviceId: id.deviceId, sidecarDeviceId: id.deviceId, apiKey: 'k', gui: randomGuiCredentials(), localDir: folder, guiAddress: `127.0.0.1:${await freePort()}`,
      listenAddress: `tcp://127.0.0.1:${await freePort()}`, sidecarAddress: 'tcp://127.0.0.1:1', type: 'sendonly', fsWatcherEnabled: false,
    })));
    return home;
  };
  /** Pids of running processes whose command line mentions `needle`. */
  const processesWith = (needle: string) => fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      return cmd.includes(needle) && !/^\d+ \(.*\) Z/.test(stat) ? [Number(d)] : [];
    } catch {
      return [];
    }
  });

  it('stops the real syncthing (guard, monitor and worker) together', async () => {
    const home = await syncthingHome();
    const sup = new Supervisor({ command: syncthingForTests(), args: serveArgs(home), env: serveEnv(process.env), logFile: path.join(home, 'log.txt') });
    await sup.start();
    // guard (sh) and its reader, monitor and worker all mention the home; the worker logs its device ID once up.
    await until('monitor and worker up', () => processesWith(`--home=${home}`).length >= 4 && /My ID/.test(fs.readFileSync(path.join(home, 'log.txt'), 'utf8')), 15_000);
    await sup.stop();
    await until('all gone', () => processesWith(`--home=${home}`).length === 0, 5_000);
    expect(fs.readFileSync(path.join(home, 'log.txt'), 'utf8')).toMatch(/Exiting|exiting/);
  });

  it('stops syncthing when the process that started it is killed (SIGKILL)', async () => {
    const home = await syncthingHome();
    const owner = path.join(mk('owner'), 'owner.ts');
    fs.writeFileSync(owner, [
      `import { Supervisor } from ${JSON.stringify(path.resolve('src/sync/process.ts'))};`,
      `import { serveArgs, serveEnv } from ${JSON.stringify(path.resolve('src/sync/binary.ts'))};`,
      `const sup = new Supervisor({ command: ${JSON.stringify(syncthingForTests())}, args: serveArgs(${JSON.stringify(home)}), env: serveEnv(process.env), logFile: ${JSON.stringify(path.join(home, 'log.txt'))} });`,
      'await sup.start();',
      'console.log("started", sup.pid);',
      'setInterval(() => {}, 1000);',
    ].join('\n'));
    const child = spawn(process.execPath, [owner], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await until('owner started syncthing', () => processesWith(`--home=${home}`).length >= 4 && /My ID/.test(fs.readFileSync(path.join(home, 'log.txt'), 'utf8')), 15_000);
      child.kill('SIGKILL');
      await until('syncthing gone after its owner died', () => processesWith(`--home=${home}`).length === 0, 15_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('fast path', () => {
  it('scans exactly the changed paths, watches new directories and skips ignored ones', async () => {
    const root = mk('fast');
    fs.mkdirSync(path.join(root, '.git'));
    fs.mkdirSync(path.join(root, 'src'));
    const scans: string[][] = [];
    const fast = new FastPath({ root, isIgnored: ignoreMatcher(['.git']), scan: async (subs) => void scans.push(subs) });
    fast.start();
    try {
      expect(fast.watched).toBe(2); // root and src, not .git
      fs.writeFileSync(path.join(root, 'src', 'a.ts'), '1');
      await until('scan of src/a.ts', () => scans.some((s) => s.includes('src/a.ts')), 5_000);
      fs.writeFileSync(path.join(root, '.git', 'index'), 'x');
      fs.mkdirSync(path.join(root, 'src', 'deep'));
      await until('scan of new dir', () => scans.some((s) => s.includes('src/deep')), 5_000);
      fs.writeFileSync(path.join(root, 'src', 'deep', 'b.ts'), '2');
      await until('scan of src/deep/b.ts', () => scans.some((s) => s.includes('src/deep/b.ts')), 5_000);
      fs.rmSync(path.join(root, 'src', 'deep'), { recursive: true });
      await until('scan after delete', () => scans.filter((s) => s.includes('src/deep')).length >= 2, 5_000);
      expect(scans.flat().some((p) => p.startsWith('.git'))).toBe(false);
      expect(fast.watched).toBe(2);
    } finally {
      fast.close();
    }
  });
});
