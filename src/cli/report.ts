// Turns errors into the text a person reads on stderr.

import { describeLocation, isDevError } from '../core/errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import type { CliIO } from './io.ts';

/** Writes the error to stderr and returns the exit code. Unexpected errors keep their stack only with KUBECTL_DEV_DEBUG. */
export function reportError(error: unknown, io: CliIO): number {
  if (isDevError(error)) {
    const where = describeLocation(error.where);
    const lines = [`error: ${error.message}`];
    if (where) lines.push(`  where: ${where}`);
    lines.push(`  hint: ${error.hint}`);
    io.stderr.write(`${lines.join('\n')}\n`);
    return exitCodeFor(error.code);
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`error: ${message}\n  hint: this is a bug in kubectl-dev; run again with KUBECTL_DEV_DEBUG=1 and report the output.\n`);
  if (io.env.KUBECTL_DEV_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return EXIT.failure;
}
