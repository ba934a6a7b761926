// The entry of the single executable (scripts/build-binary.ts builds it instead of src/bin.ts):
// the same program, but the standard streams are created only when a command uses them
// (process.stdin/stderr are getters that build a stream each: a few ms at every start), and
// ready for a V8 startup snapshot: the modules are evaluated when the binary is built, and
// run() is what the binary does when it starts. Nothing here may read the environment, the
// clock or randomness at module level: that would be frozen into the snapshot.

import * as net from 'node:net';
import { startupSnapshot } from 'node:v8';
import { main } from '../src/cli/main.ts';
import { endProcess } from '../src/cli/process-end.ts';

function run(): void {
  const io = {
    get stdin() { return process.stdin; },
    get stdout() { return process.stdout; },
    get stderr() { return process.stderr; },
    env: process.env,
    cwd: process.cwd(),
  };
  main(process.argv.slice(2), io).then(endProcess);
}

if (startupSnapshot.isBuildingSnapshot()) {
  // Built into the snapshot: the module behind process.stdout/stderr when they are pipes. (Not
  // node:tty: Node warns that it is not verified in user snapshots.)
  (globalThis as Record<string, unknown>).__kubectlDevWarm = [net.Socket];
  startupSnapshot.setDeserializeMainFunction(run);
}
else run();
