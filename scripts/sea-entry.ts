// The entry of the single executable (scripts/build-binary.ts builds it instead of src/bin.ts):
// the same program, but the standard streams are created only when a command uses them
// (process.stdin/stderr are getters that build a stream each: a few ms at every start).

import { main } from '../src/cli/main.ts';

const io = {
  get stdin() { return process.stdin; },
  get stdout() { return process.stdout; },
  get stderr() { return process.stderr; },
  env: process.env,
  cwd: process.cwd(),
};

main(process.argv.slice(2), io).then((code) => { process.exitCode = code; });
