// The single executable (dist/kubectl-dev), built once per run when missing or older than
// the sources: a lock directory keeps parallel test files from building it twice.

import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildBinary } from '../../scripts/build-binary.ts';
import { ROOT } from './run-cli.ts';

export const BINARY = join(ROOT, 'dist', 'kubectl-dev');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  try {
    const built = statSync(BINARY).mtimeMs;
    const scripts = ['build-binary.ts', 'sea-split.ts', 'sea-entry.ts'].map((f) => statSync(join(ROOT, 'scripts', f)).mtimeMs);
    return built >= Math.max(newestSource(join(ROOT, 'src')), statSync(join(ROOT, 'package.json')).mtimeMs, ...scripts);
  } catch {
    return false;
  }
}

export async function ensureBinary(): Promise<string> {
  const lock = join(ROOT, 'dist', '.binary-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (upToDate()) return BINARY;
    try {
      mkdirSync(lock);
    } catch {
      // Someone else builds; a lock older than 3 minutes is left over from a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (!upToDate()) await buildBinary();
      return BINARY;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
