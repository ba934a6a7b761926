// The syncthing kubectl-dev carries (src/sync/binary.ts): unpacked on first use into a private,
// versioned cache dir, its checksum verified before every use, concurrent first runs safe; the
// real one (this checkout's dist/syncthing, the sidecar image's version) found before PATH;
// the user's own syncthing variables kept away from it; and how the background sync starts
// this same program again under each install path.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { embeddedSyncthing, findSyncthing, serveArgs, serveEnv, unpackSyncthing, type EmbeddedSyncthing } from '../../src/sync/binary.ts';
import { selfCommand } from '../../src/cli/commands/sync.ts';
import { checkoutSyncthing, SYNCTHING_VERSION } from '../../scripts/syncthing.ts';
import { ROOT } from './run-cli.ts';

const sha = (data: Buffer | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A stand-in executable that reports a syncthing version, as the binary would carry it. */
function fakeEmbedded(version = 'v1.29.2', script = `#!/bin/sh\necho 'syncthing ${version} "Gold Grasshopper" (go1.26 linux-amd64) kubectl-dev@kubectl-dev 1970-01-01 00:00:00 UTC [noassets, noupgrade]'\n`): EmbeddedSyncthing {
  const bytes = Buffer.from(script);
  const packed = brotliCompressSync(bytes);
  return { version, platform: `${process.platform}-${process.arch}`, sha256: sha(bytes), size: bytes.length, in: 'binary', data: () => ({ bytes: packed, compressed: true }) };
}

describe('the embedded syncthing', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-dev-embedded-'));
  let n = 0;
  const freshCache = () => path.join(root, `cache-${n++}`);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is unpacked into $XDG_CACHE_HOME/kubectl-dev/syncthing/<version>-<sha>/, 0700, executable, once', () => {
    const cache = freshCache();
    const embedded = fakeEmbedded();
    const file = unpackSyncthing(embedded, { XDG_CACHE_HOME: cache });
    expect(file).toBe(path.join(cache, 'kubectl-dev', 'syncthing', `v1.29.2-${embedded.sha256.slice(0, 16)}`, 'syncthing'));
    for (const dir of [path.dirname(file), path.dirname(path.dirname(file)), path.join(cache, 'kubectl-dev')]) expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o700);
    expect(sha(fs.readFileSync(file))).toBe(embedded.sha256);
    expect(spawnSync(file, ['--version'], { encoding: 'utf8' }).stdout).toContain('syncthing v1.29.2 ');
    // Used again as it is: not rewritten.
    const before = fs.statSync(file);
    expect(unpackSyncthing(embedded, { XDG_CACHE_HOME: cache })).toBe(file);
    expect(fs.statSync(file).ino).toBe(before.ino);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['syncthing']);
  });

  it('checks the checksum before every use: a changed file is unpacked again', () => {
    const cache = freshCache();
    const embedded = fakeEmbedded();
    const file = unpackSyncthing(embedded, { XDG_CACHE_HOME: cache });
    fs.writeFileSync(file, '#!/bin/sh\necho tampered\n');
    expect(unpackSyncthing(embedded, { XDG_CACHE_HOME: cache })).toBe(file);
    expect(sha(fs.readFileSync(file))).toBe(embedded.sha256);
  });

  it('makes a directory open to others private again, and refuses one that is not the user\'s own or not a directory', () => {
    const cache = freshCache();
    const embedded = fakeEmbedded();
    const dir = path.join(cache, 'kubectl-dev', 'syncthing');
    fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    unpackSyncthing(embedded, { XDG_CACHE_HOME: cache });
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

    const linked = freshCache();
    fs.mkdirSync(path.join(linked, 'kubectl-dev'), { recursive: true });
    fs.symlinkSync(dir, path.join(linked, 'kubectl-dev', 'syncthing'));
    expect(() => unpackSyncthing(embedded, { XDG_CACHE_HOME: linked })).toThrow(/is not a directory/);

    if (process.getuid?.() === 0) {
      const foreign = freshCache();
      fs.mkdirSync(path.join(foreign, 'kubectl-dev', 'syncthing'), { recursive: true, mode: 0o700 });
      fs.chownSync(path.join(foreign, 'kubectl-dev', 'syncthing'), 1000, 1000);
      expect(() => unpackSyncthing(embedded, { XDG_CACHE_HOME: foreign })).toThrow(/belongs to uid 1000, not to you/);
    }
  });

  it('refuses embedded bytes that do not match their checksum', () => {
    const embedded = { ...fakeEmbedded(), sha256: 'f'.repeat(64) };
    expect(() => unpackSyncthing(embedded, { XDG_CACHE_HOME: freshCache() })).toThrow(/does not match its checksum/);
  });

  it('concurrent first runs all get the whole file (each writes its own temporary file and renames it)', async () => {
    const cache = freshCache();
    // The real syncthing of this checkout (22 MB: slow enough to overlap), unpacked by 6 processes at once.
    checkoutSyncthing();
    const script = `import { embeddedSyncthing, unpackSyncthing } from ${JSON.stringify(path.join(ROOT, 'src/sync/binary.ts'))};
const e = embeddedSyncthing(); if (!e) throw new Error('no embedded syncthing');
process.stdout.write(unpackSyncthing(e, { XDG_CACHE_HOME: ${JSON.stringify(cache)} }));`;
    // A script inside the checkout (the package is found from the running program's file).
    const file = path.join(ROOT, 'dist', `.unpack-test-${process.pid}.mjs`);
    fs.writeFileSync(file, script);
    onTestFinished(() => fs.rmSync(file, { force: true }));
    const runs = await Promise.all(Array.from({ length: 6 }, () => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => resolve({ code, out, err }));
    })));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const paths = new Set(runs.map((r) => r.out));
    expect(paths.size).toBe(1);
    const unpacked = [...paths][0]!;
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist', 'syncthing', 'manifest.json'), 'utf8'));
    expect(sha(fs.readFileSync(unpacked))).toBe(manifest.platforms[`${process.platform}-${process.arch}`].sha256);
    expect(fs.readdirSync(path.dirname(unpacked))).toEqual([path.basename(unpacked)]);
  }, 120_000);
});

describe('finding syncthing with an embedded one', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-dev-find-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const onPath = path.join(root, 'path');
  beforeAll(() => {
    fs.mkdirSync(onPath);
    fs.writeFileSync(path.join(onPath, 'syncthing'), '#!/bin/sh\necho \'syncthing v1.19.2-ds1 "Fermium Flea" (go1.19.8 linux-amd64) debian\'\n', { mode: 0o755 });
  });

  it('takes --syncthing, then $KUBECTL_DEV_SYNCTHING, then the embedded one, then PATH', async () => {
    const env = { PATH: onPath, XDG_CACHE_HOME: path.join(root, 'cache') };
    const embedded = fakeEmbedded();
    const found = await findSyncthing({ env, cwd: root, embedded });
    expect(found).toMatchObject({ source: 'embedded', embeddedIn: 'binary', version: 'v1.29.2', minor: 29 });
    expect(found.path.startsWith(path.join(root, 'cache', 'kubectl-dev', 'syncthing'))).toBe(true);
    const other = path.join(onPath, 'syncthing');
    expect(await findSyncthing({ flag: other, env, cwd: root, embedded })).toMatchObject({ source: 'flag', minor: 19 });
    expect(await findSyncthing({ env: { ...env, KUBECTL_DEV_SYNCTHING: other }, cwd: root, embedded })).toMatchObject({ source: 'env', minor: 19 });
    expect(await findSyncthing({ env, cwd: root, embedded: false })).toMatchObject({ source: 'path', minor: 19 });
  });

  it('says so when the embedded one does not run or is not its version', async () => {
    const env = { PATH: onPath, XDG_CACHE_HOME: path.join(root, 'cache2') };
    await expect(findSyncthing({ env, cwd: root, embedded: fakeEmbedded('v1.29.2', '#!/bin/sh\nexit 3\n') })).rejects.toMatchObject({ code: 'SYNCTHING_FAILED', message: expect.stringMatching(/embedded syncthing v1\.29\.2 .* did not start/) });
    await expect(findSyncthing({ env, cwd: root, embedded: { ...fakeEmbedded('v1.29.2', '#!/bin/sh\necho syncthing v1.27.0\n'), version: 'v1.29.2' } })).rejects.toMatchObject({ code: 'SYNCTHING_FAILED', message: expect.stringMatching(/reports "syncthing v1\.27\.0", not v1\.29\.2/) });
  });

  it('this checkout carries the sidecar image\'s syncthing (npm ci builds it into dist/syncthing) and finds it first', async () => {
    checkoutSyncthing();
    const embedded = embeddedSyncthing();
    expect(embedded).toMatchObject({ version: SYNCTHING_VERSION, in: 'package', platform: `${process.platform}-${process.arch}` });
    const found = await findSyncthing({ env: { PATH: onPath, XDG_CACHE_HOME: path.join(root, 'cache3') }, cwd: root });
    expect(found).toMatchObject({ source: 'embedded', embeddedIn: 'package', version: SYNCTHING_VERSION });
    expect(spawnSync(found.path, ['--version'], { encoding: 'utf8' }).stdout).toMatch(new RegExp(`^syncthing ${SYNCTHING_VERSION.replace(/\./g, '\\.')} `));
  });
});

describe('the user\'s own syncthing variables', () => {
  it('are not passed to kubectl-dev\'s syncthing (STTRACE and STHASHING are)', () => {
    const env = serveEnv({ PATH: '/bin', HOME: '/home/u', STGUIADDRESS: '0.0.0.0:8384', STHOMEDIR: '/elsewhere', STCONFDIR: '/c', STDATADIR: '/d', STGUIAPIKEY: 'k', STPROFILER: ':9090', STMONITORED: 'yes', STRESTART: '1', STTRACE: 'model', STHASHING: 'standard', STATUS: 'x' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/home/u', STTRACE: 'model', STHASHING: 'standard', STNORESTART: '1', STNOUPGRADE: '1', STNODEFAULTFOLDER: '1', STNOBROWSER: '1' });
  });

  it('STGUIADDRESS in the user\'s shell moves a real syncthing\'s REST address; not with serveEnv', async () => {
    checkoutSyncthing();
    const found = await findSyncthing({ env: { PATH: '', XDG_CACHE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-dev-env-')) }, cwd: ROOT });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-dev-env-home-'));
    try {
      const port = 20_000 + (process.pid % 20_000);
      fs.writeFileSync(path.join(home, 'config.xml'), `<configuration version="37">
  <gui enabled="true" tls="false"><address>127.0.0.1:${port}</address><apikey>test-key-0123456789</apikey></gui>
  <options><listenAddress>tcp://127.0.0.1:0</listenAddress><globalAnnounceEnabled>false</globalAnnounceEnabled><localAnnounceEnabled>false</localAnnounceEnabled>
  <relaysEnabled>false</relaysEnabled><natEnabled>false</natEnabled><urAccepted>-1</urAccepted><startBrowser>false</startBrowser><crashReportingEnabled>false</crashReportingEnabled></options>
</configuration>\n`);
      const listening = (env: NodeJS.ProcessEnv) => new Promise<string>((resolve, reject) => {
        const child = spawn(found.path, serveArgs(home), { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no "listening" line: ${out}`)); }, 30_000);
        const onData = (d: Buffer) => {
          out += d.toString();
          const m = /GUI and API listening on (\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            child.on('exit', () => resolve(m[1]!));
            child.kill('SIGTERM');
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      const user = { PATH: process.env.PATH ?? '', HOME: home, STGUIADDRESS: `127.0.0.1:${port + 1}`, STNORESTART: '1', STNOUPGRADE: '1' };
      expect(await listening(user)).toBe(`127.0.0.1:${port + 1}`);
      expect(await listening(serveEnv(user))).toBe(`127.0.0.1:${port}`);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('the background sync starts this same program again', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-dev-self-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a single executable: itself, with no script', () => {
    expect(selfCommand(['/usr/local/bin/kubectl-dev', '/usr/local/bin/kubectl-dev', 'sync'], '/usr/local/bin/kubectl-dev', [], true)).toEqual(['/usr/local/bin/kubectl-dev']);
  });

  it('npm link, npm i -g, npx: node and the real file behind the link npm put on PATH (no .cjs ending)', () => {
    const pkg = path.join(root, 'lib', 'node_modules', 'kubectl-dev', 'bin');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'kubectl-dev.cjs'), '');
    fs.mkdirSync(path.join(root, 'bin'));
    fs.symlinkSync('../lib/node_modules/kubectl-dev/bin/kubectl-dev.cjs', path.join(root, 'bin', 'kubectl-dev'));
    const real = fs.realpathSync(path.join(pkg, 'kubectl-dev.cjs'));
    expect(selfCommand(['/usr/bin/node', path.join(root, 'bin', 'kubectl-dev')], '/usr/bin/node', [], false)).toEqual(['/usr/bin/node', real]);
  });

  it('a script run by node (dist/kubectl-dev.cjs, src/bin.ts with node flags): the same again', () => {
    const script = path.join(root, 'kubectl-dev.cjs');
    fs.writeFileSync(script, '');
    expect(selfCommand(['/n/node', script], '/n/node', ['--max-old-space-size=100'], false)).toEqual(['/n/node', '--max-old-space-size=100', fs.realpathSync(script)]);
  });
});
