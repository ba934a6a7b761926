// The program's entry: real streams and arguments in, exit code out.
import { main } from './cli/main.ts';
import { endProcess } from './cli/process-end.ts';

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() })
  .then(endProcess);
