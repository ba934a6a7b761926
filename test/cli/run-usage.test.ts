// `run` and the -p/--forward flags reject a wrong command line before they touch a cluster:
// exit code 2, what was wrong and what to do, nothing on stdout.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runCli } from './run-cli.ts';

// No cluster: a kubeconfig that points nowhere, so a command that got as far as the API would fail with 4, not 2.
const env = { KUBECONFIG: '/nonexistent/kubeconfig' };
const emptyDir = () => mkdtempSync(join(tmpdir(), 'kubectl-dev-run-usage-'));

describe('run and forwards: usage errors', () => {
  it('run needs a command, after -- or in the dev config', () => {
    const r = runCli(['run', 'deploy/web'], { cwd: emptyDir(), env });
    expect(r.code).toBe(EXIT.usage);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: run needs a command: after --, or run: in the dev config\n\s+hint: for example: kubectl dev run deploy\/web -- npm run dev/);
  });

  it('-p must be LOCAL:REMOTE, :REMOTE or PORT, on run, sync and start', () => {
    for (const args of [['run', 'deploy/web', '-p', '80:x', '--', 'true'], ['sync', 'deploy/web', '-p', '80:x'], ['start', 'deploy/web', '-p', '80:x']]) {
      const r = runCli(args, { cwd: emptyDir(), env });
      expect(r.code, args.join(' ')).toBe(EXIT.usage);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: --forward: "80:x" is not LOCAL:REMOTE, :REMOTE or PORT\n\s+hint: for example -p 8080:80/);
    }
  });

  it('a bad forward in the dev config names the file', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, '.kubectl-dev.yaml'), 'workloads:\n  deploy/web:\n    forward: ["8080:80", "8080:81"]\n');
    const r = runCli(['run', 'deploy/web', '--', 'true'], { cwd: dir, env });
    expect(r.code).toBe(EXIT.usage);
    // The file was found, not named: the first line says which one.
    expect(r.stderr).toMatch(/^using the dev config \/.+\/\.kubectl-dev\.yaml\nerror: forward in \.kubectl-dev\.yaml: local port 8080 is given twice \(8080:80 and 8080:81\)/);
  });

  it('--address takes IPs or localhost', () => {
    const r = runCli(['run', 'deploy/web', '-p', '8080', '--address', 'example.com', '--', 'true'], { cwd: emptyDir(), env });
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/^error: --address: "example\.com" is not an IP address or localhost/);
  });

  it('start --run and -p need the sync that start hands over to', () => {
    const r = runCli(['start', 'deploy/web', '--no-sync', '--run', 'npm start'], { cwd: emptyDir(), env });
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/^error: --no-sync cannot be used with --run\n/);
  });

  it('sync --wait cannot keep forwards open', () => {
    const r = runCli(['sync', 'deploy/web', '--wait', '-p', '8080'], { cwd: emptyDir(), env });
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/^error: --forward cannot be used with --wait: the forwards would end when the command returns/);
  });
});

describe('-R/--reverse: usage errors', () => {
  it('must be REMOTE:LOCAL or PORT, on run, sync and start, before any cluster access', () => {
    for (const args of [['run', 'deploy/web', '-R', ':3000', '--', 'true'], ['sync', 'deploy/web', '-R', ':3000'], ['start', 'deploy/web', '--reverse', ':3000']]) {
      const r = runCli(args, { cwd: emptyDir(), env });
      expect(r.code, args.join(' ')).toBe(EXIT.usage);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: --reverse: ":3000" is not REMOTE:LOCAL or PORT\n\s+hint: for example -R 5432:5432/);
    }
  });

  it('cannot be used with sync --wait or start --no-sync', () => {
    const wait = runCli(['sync', 'deploy/web', '--wait', '-R', '9000:3000'], { cwd: emptyDir(), env });
    expect(wait.code).toBe(EXIT.usage);
    expect(wait.stderr).toMatch(/^error: --reverse cannot be used with --wait/);
    const noSync = runCli(['start', 'deploy/web', '--no-sync', '-R', '9000:3000'], { cwd: emptyDir(), env });
    expect(noSync.code).toBe(EXIT.usage);
    expect(noSync.stderr).toMatch(/^error: --no-sync cannot be used with --reverse/);
  });
});
