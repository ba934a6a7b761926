// endProcess (src/cli/process-end.ts), what both entries do after main(): in child
// processes, one that ends by itself and one that a leftover server would keep alive.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const module = path.resolve('src/cli/process-end.ts');

function runNode(script: string): { status: number | null; stderr: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - started };
}

describe('endProcess', () => {
  it('sets the exit code and leaves a clean process to end by itself, silently', () => {
    const r = runNode(`import { endProcess } from ${JSON.stringify(module)}; endProcess(4);`);
    expect(r.status).toBe(4);
    expect(r.stderr).not.toMatch(/stayed open/);
  });

  it('ends a process that something left open keeps alive, with the exit code and a bug report hint', () => {
    const r = runNode(`import * as net from 'node:net'; import { endProcess } from ${JSON.stringify(module)};
      net.createServer().listen(0, '127.0.0.1', () => endProcess(3));`);
    expect(r.status).toBe(3);
    expect(r.stderr, r.stderr).toMatch(/^kubectl-dev: the command finished but (\w+, )*TCPServerWrap(, \w+)* stayed open; exiting anyway\.\n  hint: this is a bug in kubectl-dev;/);
    expect(r.ms).toBeGreaterThanOrEqual(2_000);
  });
});
