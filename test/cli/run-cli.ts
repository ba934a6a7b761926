// Runs the built CLI (bin/kubectl-dev.cjs → dist/) as a child process, the way a user does.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'kubectl-dev.cjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  if (!existsSync(join(ROOT, 'dist', 'kubectl-dev.cjs'))) throw new Error('dist/kubectl-dev.cjs is missing: run `npm run build` first');
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.stdin ?? '',
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    timeout: options.timeoutMs ?? 20_000,
  });
  if (result.error) throw new Error(`kubectl-dev ${args.join(' ')}: ${result.error.message}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  // -1: killed by a signal (as the crash-safety tests make it).
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
