// The single executables (dist/kubectl-dev, and every platform's under dist/bin/), built once
// per run when missing or older than the sources: a lock directory keeps parallel test files
// from building them twice, and checkouts on one machine from building at once (a build of all
// five holds several GB).

import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBinaries, buildBinary, platformBinary } from '../../scripts/build-binary.ts';
import { PLATFORMS, type Platform } from '../../scripts/syncthing.ts';
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

function upToDate(binary = BINARY): boolean {
  try {
    const built = statSync(binary).mtimeMs;
    const scripts = ['build-binary.ts', 'sea-split.ts', 'sea-entry.ts', 'syncthing.ts', 'node-builds.ts', 'macho.ts', 'pe.ts'].map((f) => statSync(join(ROOT, 'scripts', f)).mtimeMs);
    return built >= Math.max(newestSource(join(ROOT, 'src')), statSync(join(ROOT, 'package.json')).mtimeMs, ...scripts);
  } catch {
    return false;
  }
}

export async function ensureBinary(): Promise<string> {
  await underLock(() => upToDate(), () => buildBinary());
  return BINARY;
}

/** Every platform's binary (dist/bin/<os>-<arch>/…); builds those missing or out of date (minutes for all five). */
export async function ensurePlatformBinaries(platforms: readonly Platform[] = PLATFORMS): Promise<Record<Platform, string>> {
  const stale = () => platforms.filter((p) => !upToDate(platformBinary(p)));
  await underLock(() => stale().length === 0, () => buildBinaries(stale()));
  return Object.fromEntries(platforms.map((p) => [p, platformBinary(p)])) as Record<Platform, string>;
}

async function underLock(done: () => boolean, build: () => Promise<unknown>): Promise<void> {
  const lock = join(tmpdir(), 'kubectl-dev-binary-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  // Building all five platforms (first time: syncthing and Node downloads) takes minutes.
  const deadline = Date.now() + 1_200_000;
  for (;;) {
    if (done()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Someone else builds; a lock older than 20 minutes is left over from a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 1_200_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* gone */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (!done()) await build();
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
