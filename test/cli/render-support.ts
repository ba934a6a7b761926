// Helpers for the render tests that run real tools: `kubectl-dev` on PATH (a wrapper
// around the built bin/kubectl-dev.cjs run by Node 24), Helm with isolated homes,
// the Helm 4 plugin installed into them, and the test charts.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { helmBinary } from '../support/binaries.ts';
import { BIN, ROOT } from './run-cli.ts';

export { ROOT };
export const CHARTS = join(ROOT, 'test', 'unit', 'render', 'charts');
export const PLUGIN_DIR = join(ROOT, 'plugin');
export const CORPUS = join(ROOT, '..', 'shared', 'corpus');

/** Node 24: the project's pinned one when installed, else the one running the tests. */
export const NODE = existsSync(join(ROOT, 'node_modules', '.bin', 'node')) ? join(ROOT, 'node_modules', '.bin', 'node') : process.execPath;

let binDir: string | undefined;

/** A directory holding a `kubectl-dev` executable that runs the built CLI. */
export function kubectlDevBinDir(): string {
  if (binDir) return binDir;
  if (!existsSync(join(ROOT, 'dist', 'kubectl-dev.cjs'))) throw new Error('dist/kubectl-dev.cjs is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-bin-'));
  const script = join(dir, 'kubectl-dev');
  writeFileSync(script, `#!/bin/sh\nexec "${NODE}" "${BIN}" "$@"\n`);
  chmodSync(script, 0o755);
  binDir = dir;
  return dir;
}

/** The environment with `kubectl-dev` first on PATH. */
export function envWithKubectlDev(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', ...extra, PATH: [kubectlDevBinDir(), extra.PATH ?? process.env.PATH ?? ''].join(delimiter) };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeout?: number } = {}): RunResult {
  const r = spawnSync(bin, args, {
    env: options.env ?? envWithKubectlDev(),
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function mustRun(bin: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): string {
  const r = run(bin, args, options);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

export interface HelmSetup {
  bin: string;
  major: 3 | 4;
  env: NodeJS.ProcessEnv;
  /** `--post-renderer …` arguments that run `kubectl-dev render ARGS`. */
  postRenderer: (args: readonly string[]) => string[];
}

/**
 * Helm with its own data, config and cache homes (nothing of the user's). For Helm 4
 * the plugin in plugin/ is installed there (HELM_PLUGINS stays unset: Helm 4.1
 * installs into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says).
 */
export function helmSetup(major: 3 | 4, extraEnv: NodeJS.ProcessEnv = {}): HelmSetup {
  const home = mkdtempSync(join(tmpdir(), `helm${major}-home-`));
  for (const d of ['data', 'config', 'cache']) mkdirSync(join(home, d));
  const env = envWithKubectlDev({
    ...extraEnv,
    HELM_DATA_HOME: join(home, 'data'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
  });
  delete env.HELM_PLUGINS;
  const bin = helmBinary(major);
  if (major === 4) mustRun(bin, ['plugin', 'install', PLUGIN_DIR], { env });
  return {
    bin,
    major,
    env,
    postRenderer: (args) =>
      major === 3
        ? ['--post-renderer', 'kubectl-dev', '--post-renderer-args', 'render', ...args.flatMap((a) => ['--post-renderer-args', a])]
        : ['--post-renderer', 'kubectl-dev', ...args.flatMap((a) => ['--post-renderer-args', a])],
  };
}

/** Drops the `# Source:` comments and empty documents Helm adds, for comparing object streams. */
export function withoutHelmComments(text: string): string {
  return text.replace(/^# Source: .*\n/gm, '');
}
