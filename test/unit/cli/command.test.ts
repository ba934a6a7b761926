// Commands declared once: typed options, defaults, the command line that gives them again, every problem at once.

import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { flagLayer, Problems } from '../../../src/cli/command.ts';
import { start } from '../../../src/cli/commands/start.ts';
import { run } from '../../../src/cli/commands/run.ts';
import { sync } from '../../../src/cli/commands/sync.ts';
import { main } from '../../../src/cli/main.ts';
import { DevError } from '../../../src/core/errors.ts';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) => new Writable({ write(chunk, _e, done) { add(String(chunk)); done(); } });
  const code = await main(args, { stdin: new PassThrough(), stdout: sink((s) => { stdout += s; }), stderr: sink((s) => { stderr += s; }), env: { KUBECONFIG: '/nonexistent/kubeconfig' }, cwd: '/nonexistent-dir' });
  return { code, stdout, stderr };
}

describe('defineCommand', () => {
  it('fills in the declared defaults', () => {
    const options = sync.withDefaults({ workload: 'deploy/web' });
    expect(options).toMatchObject({ workload: 'deploy/web', wait: false, once: false, timeout: '5m', background: false, watcher: 'fast', 'watcher-delay': 1 });
    expect(run.withDefaults({ workload: 'deploy/web' })).toMatchObject({ restart: true, timeout: '5m' });
  });

  it('toArgv: the words that give these options, defaults left out, a list positional after --', () => {
    expect(sync.toArgv(sync.withDefaults({ workload: 'deploy/web', namespace: 'shop', 'local-dir': '/src', 'two-way': false, ignore: ['a', 'b'], background: true })))
      .toEqual(['sync', 'deploy/web', '--namespace', 'shop', '--local-dir', '/src', '--no-two-way', '--ignore', 'a', '--ignore', 'b', '--background']);
    expect(run.toArgv(run.withDefaults({ workload: 'deploy/web', restart: false, command: ['npm', 'start'] }))).toEqual(['run', 'deploy/web', '--no-restart', '--', 'npm', 'start']);
  });

  it('toArgv round-trips through the parser', async () => {
    // The background session parses what toArgv wrote: the same options (a wrong flag would be a usage error).
    const words = sync.toArgv(sync.withDefaults({ workload: 'deploy/web', 'two-way': true, ignore: ['x'], timeout: 'abc' }));
    const result = await cli(words);
    expect(result.stderr).toContain('--timeout "abc" is not a duration');
  });
});

describe('flagLayer', () => {
  it('the dev-config fields the given flags set, as the declarations say', () => {
    expect(flagLayer(start.declaration.options, start.withDefaults({ image: 'i', command: 'npm start', env: ['A=1'], 'keep-security-context': false, forward: ['80'], 'local-dir': 'x' })))
      .toEqual({ image: 'i', command: ['/bin/sh', '-c', 'npm start'], keepSecurityContext: false, env: [{ name: 'A', value: '1' }], forward: ['80'] });
    expect(flagLayer(sync.declaration.options, sync.withDefaults({ workload: 'deploy/web', 'local-dir': 'x', ignore: ['a'] }))).toEqual({ localDir: 'x', ignore: ['a'] });
    expect(() => flagLayer(start.declaration.options, { env: ['A'] })).toThrow('--env "A" is not NAME=VALUE');
  });
});

describe('Problems', () => {
  it('throws one problem as it is, several in one error with every hint', () => {
    const one = new Problems();
    one.check(() => { throw new DevError('INVALID_OPTION', 'a is wrong', 'fix a.'); });
    expect(() => one.throwIfAny()).toThrow(/^a is wrong$/);
    const two = new Problems();
    two.add(new DevError('INVALID_OPTION', 'a is wrong', 'fix a.'));
    two.add(new DevError('INVALID_OPTION', 'b is wrong', 'fix b.'));
    expect(() => two.throwIfAny()).toThrow(expect.objectContaining({ message: '2 problems: a is wrong; b is wrong', hint: 'fix a. fix b.' }));
    new Problems().throwIfAny();
  });

  it('lets a bug through', () => {
    expect(() => new Problems().check(() => { throw new TypeError('bug'); })).toThrow(TypeError);
  });

  it('a command reports every problem of its command line before it reads the cluster', async () => {
    const result = await cli(['start', 'deploy/web', '--timeout', 'abc', '--env', 'X', '-p', '80:x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: 3 problems: --env "X" is not NAME=VALUE; --timeout "abc" is not a duration; --forward: "80:x" is not LOCAL:REMOTE, :REMOTE or PORT\n/);
  });
});
