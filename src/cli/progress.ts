// Progress on stderr: a spinner line on a terminal, plain lines otherwise (or nothing with --quiet).

import type { Writable } from 'node:stream';
import type { Progress } from '../live/deps.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function makeProgress(stream: Writable & { isTTY?: boolean }, env: NodeJS.ProcessEnv, quiet: boolean): Progress {
  if (quiet) return { start() {}, succeed() {}, note() {} };
  const color = stream.isTTY === true && !env.NO_COLOR;
  const green = (s: string) => (color ? `\u001b[32m${s}\u001b[39m` : s);
  if (!stream.isTTY) {
    return {
      start: (text) => stream.write(`… ${text}\n`),
      succeed: (text) => {
        if (text) stream.write(`✓ ${text}\n`);
      },
      note: (text) => stream.write(`  ${text}\n`),
    };
  }
  let timer: NodeJS.Timeout | undefined;
  let current = '';
  let frame = 0;
  const clear = () => stream.write('\r\u001b[2K');
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    clear();
  };
  return {
    start(text) {
      stop();
      current = text;
      timer = setInterval(() => {
        clear();
        stream.write(`${FRAMES[frame++ % FRAMES.length]} ${current}`);
      }, 80);
      timer.unref();
    },
    succeed(text) {
      const shown = text ?? current;
      stop();
      if (shown) stream.write(`${green('✓')} ${shown}\n`);
    },
    note(text) {
      clear();
      stream.write(`  ${text}\n`);
    },
  };
}
