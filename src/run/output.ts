// The command's output as the user sees it: every line with the container's prefix.

import { Writable } from 'node:stream';

/** A Writable that prefixes every line it passes on. */
export function prefixLines(target: Writable, prefix: string): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) target.write(lines.map((l) => `${prefix}${l}\n`).join(''));
      callback();
    },
    final(callback) {
      if (partial) target.write(`${prefix}${partial}\n`);
      partial = '';
      callback();
    },
  });
}
