// The bootstrap script run for real (busybox's sh, tar and dd, as in the sidecar image; dash
// with a PATH lacking tar for the refusal) with the built agent: the handshake, the install,
// the agent's HELLO right after the tar (dd takes no byte of the frames), a second start that
// finds it installed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentFileName, agentTar, answerHandshake, BOOTSTRAP_SCRIPT, parseHandshake } from '../../../src/reverse/bootstrap.ts';
import { encodeFrame, FRAME, FrameDecoder, HELLO_TEXT, type Frame } from '../../../src/reverse/frames.ts';
import { freeTcpPort } from '../../../src/sync/session/local-syncthing.ts';
import { builtAgent } from './support.ts';

describe('the handshake', () => {
  it('reads the machine, what an install lacks and the installed agents', () => {
    expect(parseHandshake('kubectl-dev-agent-handshake arch=x86_64 missing= have=kubectl-dev-agent-0123456789abcdef kubectl-dev-agent-*'))
      .toEqual({ machine: 'x86_64', missing: [], have: ['kubectl-dev-agent-0123456789abcdef'] });
    expect(parseHandshake('kubectl-dev-agent-handshake arch= missing=tar,mv have=kubectl-dev-agent-*')).toEqual({ machine: '', missing: ['tar', 'mv'], have: [] });
    expect(parseHandshake('sh: syntax error')).toBeUndefined();
  });

  it('runs an installed agent, installs a missing one, refuses when tools are missing', () => {
    const name = agentFileName('0123456789abcdef0123');
    expect(answerHandshake({ machine: 'x86_64', missing: ['tar'], have: [name] }, name, 10)).toEqual({ line: `run ${name}\n`, install: false });
    expect(answerHandshake({ machine: 'x86_64', missing: [], have: [] }, name, 10)).toEqual({ line: `install ${name} 10\n`, install: true });
    const refused = answerHandshake({ machine: 'x86_64', missing: ['tar', 'dd'], have: [] }, name, 10);
    expect('refuse' in refused && refused.refuse).toMatch(/has no tar, dd/);
  });
});

/** Runs the script in `home` with `shell`; returns its first line, a writer for stdin and the frames it sends. */
function runScript(shell: string, home: string, env: NodeJS.ProcessEnv, ports: number[]) {
  const child = spawn(shell, ['-c', BOOTSTRAP_SCRIPT, 'sh', home, '.tmp-test', ...ports.map(String)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  let line: string | undefined;
  let text = '';
  let waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    if (line === undefined) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        text += chunk.toString();
        return;
      }
      line = text + chunk.toString('utf8', 0, nl);
      chunk = chunk.subarray(nl + 1);
    }
    frames.push(...decoder.push(chunk));
    for (const w of waiters.splice(0)) w();
  });
  const until = async (test: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out; line ${line}, frames ${frames.map((f) => f.type)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { child, frames, line: () => line, until };
}

describe('the bootstrap script', () => {
  const busybox = '/usr/bin/busybox';
  it('installs the agent, which then answers frames; the next start finds it', async () => {
    const agent = builtAgent();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kda-home-'));
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'kda-bin-'));
    for (const applet of ['sh', 'tar', 'dd', 'mv', 'uname', 'rmdir', 'cat']) fs.symlinkSync(busybox, path.join(bin, applet));
    const env = { PATH: bin };
    const port = await freeTcpPort();
    const name = agentFileName(agent.sha256);

    const first = runScript(path.join(bin, 'sh'), home, env, [port]);
    await first.until(() => first.line() !== undefined);
    const hs = parseHandshake(first.line()!)!;
    expect(hs).toEqual({ machine: os.machine(), missing: [], have: [] });
    const tar = agentTar(agent.bytes, agent.sha256, '.tmp-test', Date.now());
    first.child.stdin.write(`install ${name} ${tar.length}\n`);
    first.child.stdin.write(tar);
    await first.until(() => first.frames.length > 0);
    expect(first.frames[0]).toMatchObject({ type: FRAME.hello });
    expect(first.frames[0]!.payload.toString()).toBe(HELLO_TEXT);
    first.child.stdin.write(encodeFrame(FRAME.ping));
    await first.until(() => first.frames.some((f) => f.type === FRAME.pong));
    // Installed under its name, executable, the temporary directory gone.
    const installed = path.join(home, name);
    expect(createHash('sha256').update(fs.readFileSync(installed)).digest('hex')).toBe(agent.sha256);
    expect(fs.statSync(installed).mode & 0o111).not.toBe(0);
    expect(fs.readdirSync(home)).toEqual([name]);
    first.child.stdin.end();
    await new Promise((r) => first.child.once('exit', r));

    const second = runScript(path.join(bin, 'sh'), home, env, [port]);
    await second.until(() => second.line() !== undefined);
    expect(parseHandshake(second.line()!)!.have).toEqual([name]);
    second.child.stdin.write(`run ${name}\n`);
    await second.until(() => second.frames.length > 0);
    expect(second.frames[0]!.type).toBe(FRAME.hello);
    second.child.stdin.end();
    await new Promise((r) => second.child.once('exit', r));
  });

  it('says what an install lacks, and stops on any other answer', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kda-home-'));
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'kda-bin-'));
    for (const applet of ['dd', 'uname']) fs.symlinkSync(busybox, path.join(bin, applet));
    const run = runScript('/bin/dash', home, { PATH: bin }, [await freeTcpPort()]);
    await run.until(() => run.line() !== undefined);
    expect(parseHandshake(run.line()!)).toEqual({ machine: os.machine(), missing: ['tar', 'mv'], have: [] });
    run.child.stdin.write('stop\n');
    const code = await new Promise((r) => run.child.once('exit', r));
    expect(code).toBe(0);
    expect(run.frames).toEqual([]);
  });
});
