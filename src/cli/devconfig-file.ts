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
  return parseDevConfig(text, path ?? DEV_CONFIG_FILE);
}
