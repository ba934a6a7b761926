// kubectl's duration syntax for --timeout and --request-timeout: 500ms, 30s, 5m, 1h, or seconds.

import { DevError } from './errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new DevError('INVALID_OPTION', `${flag} "${text}" is not a duration`, 'use a number of seconds or a duration such as 500ms, 30s, 5m or 1h.');
  }
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number));
}
