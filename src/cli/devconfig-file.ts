// Finds and reads the dev config file: --config FILE, else .kubectl-dev.yaml in the working directory.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEV_CONFIG_FILE, parseDevConfig, type DevConfig } from '../config/devconfig.ts';
import { DevError } from '../core/errors.ts';
import type { CliIO } from './io.ts';

export function loadDevConfigFile(path: string | undefined, io: CliIO): DevConfig | undefined {
  const file = resolve(io.cwd, path ?? DEV_CONFIG_FILE);
  if (path === undefined && !existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new DevError('INVALID_OPTION', `cannot read the dev config ${path ?? DEV_CONFIG_FILE}`, 'check the path given with --config.', { source: path ?? DEV_CONFIG_FILE });
  }
  const config = parseDevConfig(text, path ?? DEV_CONFIG_FILE);
  // Settings from a file nobody named on the command line: say which file (once per process; start hands over to sync).
  if (path === undefined && !announced.has(file)) {
    announced.add(file);
    io.stderr.write(`using the dev config ${file}\n`);
  }
  return config;
}

const announced = new Set<string>();
