// The only place that turns error codes into process exit codes (documented in README.md).

import type { ErrorCode } from '../core/errors.ts';

export const EXIT = {
  ok: 0,
  /** Something failed that fits no other class. */
  failure: 1,
  /** The command line was wrong: unknown flag, missing argument, bad option value. */
  usage: 2,
  /** The input manifests or the workload cannot be put in (or out of) dev mode. */
  input: 3,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_OPTION':
      return EXIT.usage;
    case 'NOT_IMPLEMENTED':
      return EXIT.failure;
    default:
      return EXIT.input;
  }
}
