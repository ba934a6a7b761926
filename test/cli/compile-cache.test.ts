// The npm entry (bin/kubectl-dev.cjs) has Node cache the bundle's compiled code in a directory
// only the user may write, and uses none it cannot trust: real node, real files.

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const roots: string[] = [];
const cacheHome = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-cache-'));
  roots.push(dir);
  return dir;
};
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
const cacheLog = (home: string) => runCli(['version'], { env: { XDG_CACHE_HOME: home, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } });

it('caches the bundle\'s code under $XDG_CACHE_HOME/kubectl-dev/compile-cache (0700, files 0600), and the next start takes it', () => {
  const home = cacheHome();
  const first = cacheLog(home);
  expect(first.code, first.stderr).toBe(0);
  const dir = join(home, 'kubectl-dev', 'compile-cache');
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  const written = files(dir);
  expect(written.length).toBeGreaterThan(0);
  for (const file of written) expect(statSync(file).mode & 0o077, file).toBe(0);
  const second = cacheLog(home);
  expect(second.stdout).toBe(first.stdout);
  expect(second.stderr).toMatch(/V8 code cache for CommonJS \S+kubectl-dev\.cjs was accepted/);
});

it('uses no cache directory that others may write, and still runs', () => {
  const home = cacheHome();
  const dir = join(home, 'kubectl-dev', 'compile-cache');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const r = cacheLog(home);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^kubectl-dev /);
  expect(r.stderr).not.toMatch(/\[compile cache\]/);
  expect(files(dir)).toEqual([]);
});
