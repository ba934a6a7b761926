// The initial copy's tar stream, read by the real GNU tar, and seedContainer
// against a real `tar -x` process behind a stand-in for the exec WebSocket.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyMatcher, ignoreMatcher } from '../../../src/sync/ignores.ts';
import { matcherCovers } from '../../../src/sync/session/initial-copy.ts';
import { type ExecFn, type ExecStatus } from '../../../src/kube/exec.ts';
import { isSyncthingInternal, listAndPlan, planCopy, removeInContainer, seedContainer, seedEntries, SeedError, tarHeader, topLevel, treeReading, ustarName, writeTar, type CopyPlan, type SeedProgress } from '../../../src/sync/copy/index.ts';
import { untar } from '../../support/pods.ts';
import { tempDir, treeOf, until } from './support.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const longName = `${'f'.repeat(90)}.txt`;

function sampleTree(): string {
  const root = tempDir('seed-src');
  dirs.push(root);
  const w = (rel: string, content: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  };
  w('README.md', '# app\n');
  w('src/main.ts', 'console.log(1);\n');
  w('src/empty.txt', '');
  w('bin/run.sh', '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(root, 'bin/run.sh'), 0o755);
  w('big.bin', Buffer.alloc(300_000, 7)); // several chunks
  w(`${longDir}/${longName}`, 'deep\n'); // needs the ustar prefix field
  w('node_modules/x/index.js', 'ignored\n');
  w('.git/HEAD', 'ref: refs/heads/main\n');
  w('.stignore', '.git\nnode_modules\n');
  w('.syncthing.main.ts.tmp', 'syncthing temp\n');
  w('caf\u0065\u0301.txt', 'not NFC\n'); // left to syncthing (it normalises names)
  fs.mkdirSync(path.join(root, 'empty-dir'));
  fs.symlinkSync('README.md', path.join(root, 'link.md'));
  fs.utimesSync(path.join(root, 'README.md'), new Date('2024-05-01T10:00:00Z'), new Date('2024-05-01T10:00:00Z'));
  return root;
}

const asRoot = process.getuid?.() === 0;

/** As an exec in the sidecar container runs: its user (uid 1000, gid 0) and the runtime's umask (0022), not the sidecar script's. */
const asSidecarExec = (command: string[]) => ['/bin/sh', '-c', 'umask 0022 && exec "$@"', 'sh', '/usr/bin/setpriv', '--reuid=1000', '--regid=0', '--clear-groups', ...command];

/** An exec stand-in: runs the command here; stdin frames (channel byte 0) go to its stdin. */
function localExec(options: { protocol?: string; breakAfterBytes?: number; env?: NodeJS.ProcessEnv; wrap?: (command: string[]) => string[]; noStatus?: boolean } = {}): ExecFn & { commands: string[][] } {
  const commands: string[][] = [];
  const fn = (async ({ command, stdout, stderr, onStatus }: { command: string[]; stdout: Writable; stderr: Writable; onStatus: (s: ExecStatus) => void }) => {
    commands.push(command);
    const argv = options.wrap ? options.wrap(command) : command;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
    child.stdout.pipe(stdout);
    child.stderr.pipe(stderr);
    child.stdin.on('error', () => {});
    const closeListeners: Array<() => void> = [];
    let sent = 0;
    let closed = false;
    // The stream drops: the command sees the end of its input, the client the close.
    const close = () => {
      if (closed) return;
      closed = true;
      child.stdin.end();
      for (const l of closeListeners) l();
    };
    child.on('exit', (code) => {
      setTimeout(() => {
        // noStatus: as a real node may do while stdin stays open (seed.ts, EXIT_LINE).
        if (!closed && !options.noStatus) onStatus(code === 0 ? { status: 'Success' } : { status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } });
      }, 10);
    });
    return {
      readyState: 1,
      bufferedAmount: 0,
      protocol: options.protocol ?? 'v5.channel.k8s.io',
      // Like ws with unmasked frames: the buffer is used as it is until `done`.
      send: (data: Buffer, done: (error?: Error) => void) => {
        if (closed) return void setImmediate(() => done(new Error('closed')));
        if (data[0] === 255) return void child.stdin.end(() => done());
        const before = sent;
        sent += data.length - 1;
        if (options.breakAfterBytes !== undefined && sent > options.breakAfterBytes) {
          // What got through before the drop still reaches the command.
          child.stdin.write(data.subarray(1, 1 + Math.max(0, options.breakAfterBytes - before)));
          return void setImmediate(close);
        }
        child.stdin.write(data.subarray(1), () => done());
      },
      close,
      on(event: string, listener: () => void) {
        if (event === 'close') closeListeners.push(listener);
      },
    };
  }) as unknown as ExecFn & { commands: string[][] };
  fn.commands = commands;
  return fn;
}

describe('the initial copy', () => {
  it('selects files and directories the way syncthing would sync them', () => {
    const root = sampleTree();
    const isIgnored = ignoreMatcher(['.git', 'node_modules']);
    const rels = seedEntries(root, isIgnored).map((e) => `${e.type}:${e.rel}`);
    expect(rels).toContain('file:README.md');
    expect(rels).toContain('file:bin/run.sh');
    expect(rels).toContain(`file:${longDir}/${longName}`);
    expect(rels).toContain('dir:empty-dir');
    expect(rels.indexOf('dir:src')).toBeLessThan(rels.indexOf('file:src/main.ts'));
    for (const left of ['node_modules', '.git', '.stignore', '.syncthing.main.ts.tmp', 'link.md', 'cafe\u0301.txt']) {
      expect(rels.some((r) => r.endsWith(`:${left}`) || r.includes(`:${left}/`)), left).toBe(false);
    }
    expect(isSyncthingInternal('~syncthing~x.tmp')).toBe(true);
    expect(isSyncthingInternal('notes.tmp')).toBe(false);
    expect(ustarName('x'.repeat(300))).toBeUndefined();
  });

  it('writes ustar headers: octal fields, the name split into prefix and name, the checksum over all 512 bytes', () => {
    const rel = `${'dir/'.repeat(30)}file.bin`; // 128 bytes: split at a "/"
    const h = tarHeader({ rel, type: 'file', size: 8 * 1024 ** 3 - 1, mtimeMs: 1_714_557_600_999, dev: 0n, ino: 0n });
    const text = (from: number, length: number) => h.subarray(from, from + length).toString('latin1');
    expect(h.length).toBe(512);
    expect(`${text(345, 155).replace(/\0+$/, '')}/${text(0, 100).replace(/\0+$/, '')}`).toBe(rel);
    expect(text(100, 8)).toBe('0000666\0');
    expect(text(108, 16)).toBe('0000000\u00000000000\0');
    expect(text(124, 12)).toBe('77777777777\0');
    expect(text(136, 12)).toBe(`${(1_714_557_600).toString(8).padStart(11, '0')}\0`);
    expect(text(156, 1)).toBe('0');
    expect(text(257, 8)).toBe('ustar\u000000');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    expect(text(148, 8)).toBe(`${sum.toString(8).padStart(6, '0')}\0 `);
    const dir = tarHeader({ rel: 'empty-dir', type: 'dir', size: 0, mtimeMs: 0, dev: 0n, ino: 0n });
    expect([dir.subarray(0, 10).toString(), dir.subarray(100, 108).toString(), dir.subarray(124, 136).toString(), dir.subarray(156, 157).toString()])
      .toEqual(['empty-dir/', '0000777\0', '00000000000\0', '5']);
  });

  it('writes a tar stream that GNU tar extracts exactly, and that ends without the end of its input', async () => {
    const root = sampleTree();
    const out = tempDir('seed-out');
    dirs.push(out);
    const plan = planCopy(root, seedEntries(root, ignoreMatcher(['.git', 'node_modules'])));
    const tar = spawn('tar', ['-x', '-o', '-f', '-', '-C', out], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    tar.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => tar.on('exit', resolve));
    const progress = { files: 0, bytes: 0, changed: [] };
    let length = 0;
    await writeTar(root, plan, async (chunk) => {
      length += chunk.length;
      // The chunk is reused afterwards: copy it, as the WebSocket does.
      if (!tar.stdin.write(Buffer.from(chunk))) await new Promise((r) => tar.stdin.once('drain', r));
    }, progress);
    expect(length).toBe(plan.length);
    // stdin stays open: tar stops at the end-of-archive blocks on its own.
    expect(await exited).toBe(0);
    tar.stdin.destroy();
    expect(err).toBe('');
    const expected = treeOf(root, ['.git', 'node_modules', '.stignore', '.syncthing.main.ts.tmp', 'cafe\u0301.txt', 'link.md']);
    expect(treeOf(out)).toEqual(expected);
    expect(fs.statSync(path.join(out, 'empty-dir')).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(out, 'README.md')).mtime.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    // The headers' modes, which GNU tar keeps as root (else it applies the umask).
    if (asRoot) {
      expect(fs.statSync(path.join(out, 'bin/run.sh')).mode & 0o7777).toBe(0o666);
      expect(fs.statSync(path.join(out, 'src')).mode & 0o7777).toBe(0o777);
    }
    expect(progress).toMatchObject({ files: Object.keys(expected).length, bytes: Object.values(expected).reduce((n, c) => n + Buffer.byteLength(c), 0), changed: [] });
    expect(plan).toMatchObject({ files: progress.files, bytes: progress.bytes });
  });

  it('keeps the planned sizes when files change during the copy, and lists those files', async () => {
    const root = sampleTree();
    const out = tempDir('seed-changed');
    dirs.push(out);
    const plan = planCopy(root, seedEntries(root, ignoreMatcher(['.git', 'node_modules'])));
    fs.appendFileSync(path.join(root, 'README.md'), 'more than planned\n');
    fs.writeFileSync(path.join(root, 'big.bin'), 'shorter');
    fs.rmSync(path.join(root, 'src/main.ts'));
    const tar = spawn('tar', ['-x', '-o', '-f', '-', '-C', out], { stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => tar.on('exit', resolve));
    const progress = { files: 0, bytes: 0, changed: [] as string[] };
    let length = 0;
    await writeTar(root, plan, async (chunk) => {
      length += chunk.length;
      if (!tar.stdin.write(Buffer.from(chunk))) await new Promise((r) => tar.stdin.once('drain', r));
    }, progress);
    expect(await exited).toBe(0);
    tar.stdin.destroy();
    expect(length).toBe(plan.length);
    expect(progress.changed.sort()).toEqual(['README.md', 'big.bin', 'src/main.ts']);
    // The stream stayed in step: every entry after the changed ones arrived intact.
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('# app\n');
    expect(fs.statSync(path.join(out, 'big.bin')).size).toBe(300_000);
    expect(fs.readFileSync(path.join(out, `${longDir}/${longName}`), 'utf8')).toBe('deep\n');
  });

  it('seeds through an exec stream: tar -x in the work dir, with frames on channel 0', async () => {
    const root = sampleTree();
    const out = tempDir('seed-exec');
    dirs.push(out);
    const exec = localExec();
    // The exec opens while the tree is still being listed; the length goes first on stdin.
    let listNow!: () => void;
    const plan = new Promise<void>((resolve) => (listNow = resolve)).then(() => listAndPlan(root, ignoreMatcher(['.git', 'node_modules'])));
    const copying = seedContainer({ exec, namespace: 'ns', pod: 'p', container: 'sync', workdir: out, root, plan });
    await until('the exec to open', () => exec.commands.length === 1);
    expect(exec.commands[0]).toEqual(['sh', '-c', 'umask 0000 && read -r n && dd bs=1048576 iflag=fullblock,count_bytes count="$n" | tar -x -o -f - -C "$1"; s=$?; echo "kubectl-dev-copy-exit: $s" >&2; exit $s', 'sh', out]);
    listNow();
    const done = await copying;
    expect(done.current).toBeUndefined();
    expect(done.files).toBe((await plan).files);
    // A listing that takes longer than the stall limit is not a stall.
    const out2 = tempDir('seed-exec-slow-plan');
    dirs.push(out2);
    const slowPlan = new Promise<void>((resolve) => setTimeout(resolve, 2_500)).then(() => listAndPlan(root, ignoreMatcher(['.git', 'node_modules'])));
    const slow = await seedContainer({ exec: localExec(), namespace: 'ns', pod: 'p', container: 'sync', workdir: out2, root, plan: slowPlan, stallMs: 500 });
    expect(slow.files).toBe(done.files);
    expect(treeOf(out)).toEqual(treeOf(root, ['.git', 'node_modules', '.stignore', '.syncthing.main.ts.tmp', 'cafe\u0301.txt', 'link.md']));
  });

  it('ends busybox tar (the syncthing image\'s, which reads its input to the end) over v4, where stdin is never closed', async () => {
    const root = sampleTree();
    const out = tempDir('seed-busybox');
    const hangOut = tempDir('seed-busybox-hang');
    const bin = tempDir('seed-busybox-bin');
    dirs.push(out, hangOut, bin);
    const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
    expect(busybox, 'busybox is needed for this test (.ci/run installs it: apt-get install busybox)').toBeDefined();
    for (const applet of ['sh', 'dd', 'tar']) fs.symlinkSync(busybox!, path.join(bin, applet));
    const exec = localExec({ protocol: 'v4.channel.k8s.io', env: { ...process.env, PATH: bin } });
    const plan = planCopy(root, seedEntries(root, ignoreMatcher(['.git', 'node_modules'])));
    const done = await seedContainer({ exec, namespace: 'ns', pod: 'p', container: 'sync', workdir: out, root, plan, stallMs: 5_000 });
    expect(done.files).toBe(plan.files);
    expect(treeOf(out)).toEqual(treeOf(root, ['.git', 'node_modules', '.stignore', '.syncthing.main.ts.tmp', 'cafe\u0301.txt', 'link.md']));
    // Without dd in front, the same tar waits for an end of input that never comes.
    const alone = spawn(path.join(bin, 'tar'), ['-x', '-f', '-', '-C', hangOut], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exitedAlone = new Promise<string>((resolve) => alone.on('exit', () => resolve('exited')));
    await writeTar(root, plan, async (chunk) => void alone.stdin.write(Buffer.from(chunk)), { files: 0, bytes: 0, changed: [] });
    expect(await Promise.race([exitedAlone, new Promise((r) => setTimeout(() => r('still reading'), 1_000))])).toBe('still reading');
    alone.kill();
  });

  it.skipIf(!asRoot)('leaves a tree that any user of the dev container can write in, as the sidecar\'s busybox tar run by a non-root exec', async () => {
    const root = sampleTree();
    const out = tempDir('seed-modes');
    const bin = tempDir('seed-modes-bin');
    dirs.push(out, bin);
    // The work dir as an emptyDir: 0777, owned by root.
    fs.chmodSync(out, 0o777);
    fs.chmodSync(bin, 0o755);
    const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p))!;
    for (const applet of ['sh', 'dd', 'tar']) fs.symlinkSync(busybox, path.join(bin, applet));
    const exec = localExec({ protocol: 'v4.channel.k8s.io', env: { ...process.env, PATH: bin }, wrap: asSidecarExec });
    const plan = planCopy(root, seedEntries(root, ignoreMatcher(['.git', 'node_modules'])));
    const done = await seedContainer({ exec, namespace: 'ns', pod: 'p', container: 'sync', workdir: out, root, plan, stallMs: 5_000 });
    expect(done.files).toBe(plan.files);
    const modes: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(out, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        const st = fs.statSync(path.join(out, child));
        modes[child] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
        if (entry.isDirectory()) walk(child);
      }
    };
    walk('');
    expect(Object.keys(modes).length).toBeGreaterThan(8);
    for (const [rel, mode] of Object.entries(modes)) {
      expect(mode, rel).toBe(fs.statSync(path.join(out, rel)).isDirectory() ? '777 1000:0' : '666 1000:0');
    }
    // Another user with no group in common, as a dev container with its own uid.
    const asOther = (...argv: string[]) => spawnSync('setpriv', ['--reuid=1001', '--regid=1001', '--clear-groups', ...argv], { encoding: 'utf8' });
    for (const argv of [['touch', `${out}/src/new.ts`], ['mkdir', `${out}/${longDir}/build`], ['sh', '-c', `echo more >> ${out}/README.md`], ['rm', `${out}/src/empty.txt`]]) {
      const r = asOther(...argv);
      expect(r.status, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('# app\nmore\n');
  });

  it('fails with what tar said, with a stream that breaks, and before the v4 protocol', async () => {
    const root = sampleTree();
    const entries = seedEntries(root, () => false);
    const plan = planCopy(root, entries);
    const missing = path.join(tempDir('seed-missing'), 'nope');
    dirs.push(path.dirname(missing));
    await expect(seedContainer({ exec: localExec(), namespace: 'ns', pod: 'p', container: 'sync', workdir: missing, root, plan }))
      .rejects.toThrow(/tar .*(failed|ended early).*exit code 2/);
    // A listing that fails after the exec opened: nothing is sent, the container's shell sees the end of its input.
    const unplanned = localExec();
    await expect(seedContainer({ exec: unplanned, namespace: 'ns', pod: 'p', container: 'sync', workdir: missing, root, plan: Promise.reject(new Error('listing stopped')) }))
      .rejects.toThrow('listing stopped');
    expect(unplanned.commands).toHaveLength(1);

    const out = tempDir('seed-broken');
    dirs.push(out);
    const broken = seedContainer({ exec: localExec({ breakAfterBytes: 100_000 }), namespace: 'ns', pod: 'p', container: 'sync', workdir: out, root, plan });
    const error = await broken.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).message).toMatch(/exec stream closed/);
    // What it wrote is removed again: the top-level entries it sent.
    await until('tar wrote part of it', () => fs.readdirSync(out).length > 0, 5_000);
    const rm = localExec();
    expect(await removeInContainer({ exec: rm, namespace: 'ns', pod: 'p', container: 'sync', workdir: out }, topLevel(entries))).toBe(true);
    expect(rm.commands[0]!.slice(0, 3)).toEqual(['rm', '-rf', '--']);
    expect(rm.commands[0]).toContain(`${out}/src`);
    expect(fs.readdirSync(out)).toEqual([]);

    await expect(seedContainer({ exec: localExec({ protocol: 'v3.channel.k8s.io' }), namespace: 'ns', pod: 'p', container: 'sync', workdir: out, root, plan }))
      .rejects.toThrow(/does not speak v4\.channel\.k8s\.io/);
  });

  it('knows how the command ended from its last line when the exec sends no status (a real node, stdin still open)', async () => {
    const root = sampleTree();
    const plan = planCopy(root, seedEntries(root, ignoreMatcher(['.git', 'node_modules'])));
    const out = tempDir('seed-no-status');
    dirs.push(out);
    const done = await seedContainer({ exec: localExec({ noStatus: true }), namespace: 'ns', pod: 'p', container: 'sync', workdir: out, root, plan, stallMs: 20_000 });
    expect(done.files).toBe(plan.files);
    expect(treeOf(out)).toEqual(treeOf(root, ['.git', 'node_modules', '.stignore', '.syncthing.main.ts.tmp', 'cafe\u0301.txt', 'link.md']));
    // tar failing half way (it read part of the stream): the copy fails at once with tar's words, not after the stall limit.
    const failingTar = (command: string[]) => [command[0]!, command[1]!, command[2]!.replace(/dd [^|]*\|/, 'head -c 100000 |'), ...command.slice(3)];
    const started = Date.now();
    const error = await seedContainer({ exec: localExec({ noStatus: true, wrap: failingTar }), namespace: 'ns', pod: 'p', container: 'sync', workdir: tempDir('seed-no-status-fail'), root, plan, stallMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedError);
    expect((error as Error).message).toMatch(/^tar (ended early|in the container failed) \(exit code [1-9]\d*\)/);
    expect((error as Error).message).not.toMatch(/kubectl-dev-copy-exit/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('is used only when kubectl-dev reads the ignore patterns as syncthing does', () => {
    expect(matcherCovers(['.git', 'node_modules', '// comment', '(?i)*.LOG', '!keep.txt', ''])).toBe(true);
    expect(matcherCovers(['#include more-ignores'])).toBe(false);
    expect(matcherCovers(['#escape=\\'])).toBe(false);
  });

  // Issue 17, point 4: nothing outside the tree goes into the stream, whatever is swapped in.
  describe.each([
    { mode: 'through directory descriptors (Linux)', anchored: true },
    { mode: 'by paths with identity checks (macOS, Windows)', anchored: false },
  ])('the tree is read $mode', ({ anchored }) => {
    const SECRET = 'the secret outside the tree\n';
    const tarOf = async (root: string, plan: CopyPlan) => {
      const chunks: Buffer[] = [];
      const progress: SeedProgress = { files: 0, bytes: 0, changed: [] };
      await writeTar(root, plan, async (chunk) => void chunks.push(Buffer.from(chunk)), progress);
      const stream = Buffer.concat(chunks);
      expect(stream.length).toBe(plan.length);
      return { stream, entries: untar(stream), changed: progress.changed };
    };
    const setup = () => {
      const root = tempDir('seed-swap');
      const outside = tempDir('seed-outside');
      dirs.push(root, outside);
      fs.mkdirSync(path.join(root, 'sub'));
      fs.writeFileSync(path.join(root, 'sub', 'a.txt'), 'a in the tree\n');
      fs.writeFileSync(path.join(root, 'sub', 'b.txt'), 'b in the tree\n');
      fs.writeFileSync(path.join(root, 'top.txt'), 'top in the tree\n');
      // Same names outside, with what must never be sent.
      for (const name of ['a.txt', 'b.txt', 'top.txt']) fs.writeFileSync(path.join(outside, name), SECRET);
      return { root, outside };
    };
    const before = treeReading.anchored;
    beforeEach(() => void (treeReading.anchored = anchored));
    afterEach(() => void (treeReading.anchored = before));

    it('a file swapped for a link (or a FIFO) after the listing is sent as zeros and removed after the copy', async () => {
      const { root, outside } = setup();
      const plan = planCopy(root, seedEntries(root, () => false));
      fs.rmSync(path.join(root, 'top.txt'));
      fs.symlinkSync(path.join(outside, 'top.txt'), path.join(root, 'top.txt'));
      fs.rmSync(path.join(root, 'sub', 'b.txt'));
      execFileSync('mkfifo', [path.join(root, 'sub', 'b.txt')]);
      const { stream, changed } = await tarOf(root, plan);
      expect(stream.includes(Buffer.from('secret'))).toBe(false);
      expect(changed.sort()).toEqual(['sub/b.txt', 'top.txt']);
    });

    it('a directory swapped for a link to another directory after the listing: nothing of that directory is read', async () => {
      const { root, outside } = setup();
      const plan = planCopy(root, seedEntries(root, () => false));
      fs.renameSync(path.join(root, 'sub'), path.join(root, 'sub.moved'));
      fs.symlinkSync(outside, path.join(root, 'sub'));
      const { stream, entries, changed } = await tarOf(root, plan);
      expect(stream.includes(Buffer.from('secret'))).toBe(false);
      expect(changed).toEqual(expect.arrayContaining(['sub', 'sub/a.txt', 'sub/b.txt']));
      expect(entries.find((e) => e.path === 'top.txt')?.content.toString()).toBe('top in the tree\n');
    });

    it('a directory swapped for a link while it is being listed: its entries are not taken from the link\'s target', async () => {
      const { root, outside } = setup();
      let swapped = false;
      const swapOnce = (rel: string) => {
        // Called for sub/a.txt once "sub" is open and listed: the swap lands between the listing of sub and the lstat of its entries.
        if (rel === 'sub/a.txt' && !swapped) {
          swapped = true;
          fs.renameSync(path.join(root, 'sub'), path.join(root, 'sub.moved'));
          fs.symlinkSync(outside, path.join(root, 'sub'));
        }
        return rel === 'sub.moved' || rel.startsWith('sub.moved/');
      };
      const plan = await listAndPlan(root, swapOnce);
      expect(swapped).toBe(true);
      const { stream } = await tarOf(root, plan);
      expect(stream.includes(Buffer.from('secret'))).toBe(false);
    });

    it('the root replaced by another directory after the listing: the copy fails (and is undone) rather than read it', async () => {
      const { root, outside } = setup();
      const plan = planCopy(root, seedEntries(root, () => false));
      fs.renameSync(root, `${root}.old`);
      dirs.push(`${root}.old`);
      fs.symlinkSync(outside, root);
      await expect(tarOf(root, plan)).rejects.toThrow(/not the directory that was listed/);
    });
  });
});

describe('the initial copy and case', () => {
  it('with "secrets.env" ignored, neither secrets.env nor Secrets.env is listed for the copy (syncthing on macOS and Windows ignores both)', async () => {
    const root = tempDir('seed-case');
    dirs.push(root);
    for (const name of ['secrets.env', 'Secrets.env', 'main.ts']) {
      try {
        fs.writeFileSync(path.join(root, name), name);
      } catch {
        /* a case-insensitive file system: one file */
      }
    }
    const plan = await listAndPlan(root, copyMatcher(['secrets.env']));
    expect(plan.entries.map((e) => e.rel)).toEqual(['main.ts']);
  });
});
