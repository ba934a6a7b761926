// The demo, the benchmarks and the build scripts load src/ with plain Node (type stripping, Node's
// own CommonJS interop), not through the bundler or vitest: every module must load that way.
// (A named import of a CommonJS package whose exports Node cannot see broke the demo once.)

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './run-cli.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

it('every module of src/ loads under plain Node', () => {
  // bin.ts runs the CLI when loaded; what it imports is in the list anyway.
  const files = sources(join(ROOT, 'src')).filter((f) => relative(ROOT, f) !== join('src', 'bin.ts'));
  expect(files.length).toBeGreaterThan(100);
  const script = `const failed = [];
for (const f of ${JSON.stringify(files)}) { try { await import(f); } catch (e) { failed.push(f + ': ' + e.message); } }
console.log(JSON.stringify(failed));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]')).toEqual([]);
}, 90_000);
