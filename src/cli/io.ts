// The streams and environment a command runs with. The entry passes the real ones;
// tests pass their own.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { DevError } from '../core/errors.ts';
import { decodeUtf8 } from '../core/yaml/utf8.ts';

export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The stream as text; invalid UTF-8 is a located error (manifests are UTF-8, and kubectl refuses it too). */
export async function readStream(stream: Readable, source = '-'): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return decodeUtf8(Buffer.concat(chunks), source);
}

export interface InputText {
  source: string;
  text: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Reads `-f` as kubectl does: a file, `-` for stdin, or a directory's .yaml/.yml/.json files in name order. */
export async function readInputs(paths: readonly string[], io: CliIO): Promise<InputText[]> {
  const inputs: InputText[] = [];
  for (const path of paths) {
    if (path === '-') {
      inputs.push({ source: '-', text: await readStream(io.stdin) });
      continue;
    }
    const full = resolve(io.cwd, path);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new DevError('INVALID_INPUT', `cannot read ${path}: no such file or directory`, 'check the path given with -f (use - for standard input).', { source: path });
    }
    if (info.isDirectory()) {
      const names = (await readdir(full)).filter((n) => MANIFEST_FILE.test(n)).sort();
      for (const name of names) inputs.push({ source: join(path, name), text: decodeUtf8(await readFile(join(full, name)), join(path, name)) });
    } else {
      inputs.push({ source: path, text: decodeUtf8(await readFile(full), path) });
    }
  }
  return inputs;
}
