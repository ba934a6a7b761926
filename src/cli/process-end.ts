// What both entries (src/bin.ts, the single executable's scripts/sea-entry.ts) do once
// main() has returned.

/** How long the process may take to end by itself once the command has returned. */
const EXIT_GRACE_MS = 2_000;

/**
 * Sets the exit code and lets the process end by itself: a command closes everything it
 * opened before it returns. Should a bug leave a connection open, this says so and ends
 * the process anyway rather than hang the user's terminal. The timer is unref'd: it fires
 * only while something else keeps the process alive.
 */
export function endProcess(code: number): void {
  process.exitCode = code;
  // Commands that leave only the standard streams open need no guard, and arming it slows cold start (docs/decisions.md).
  if (process.getActiveResourcesInfo().every((kind) => kind === 'TTYWrap' || kind === 'PipeWrap')) return;
  setTimeout(() => {
    process.stderr.write(`kubectl-dev: the command finished but ${process.getActiveResourcesInfo().join(', ')} stayed open; exiting anyway.\n`
      + '  hint: this is a bug in kubectl-dev; run again with KUBECTL_DEV_DEBUG=1 and report the output.\n');
    process.exit(code);
  }, EXIT_GRACE_MS).unref();
}
