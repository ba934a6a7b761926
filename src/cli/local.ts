// `start --local` and `end --local`: the rewrite on files, with no cluster at all
// (the kubectl convention of `kubectl set image --local`).

import { enter, type EnterOptions } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { exit } from '../core/exit.ts';
import { assertRewritable, parseManifests, printManifests, type OutputFormat, type ParsedObject } from '../core/manifests.ts';
import type { KubeObject } from '../core/objects.ts';
import { readInputs, type CliIO } from './io.ts';

export interface LocalOptions {
  files: readonly string[];
  output: OutputFormat;
}

async function readObjects(files: readonly string[], io: CliIO): Promise<{ parsed: ParsedObject[]; locate: (index: number) => { source: string; line: number } | undefined }> {
  const parsed: ParsedObject[] = [];
  const origins: { source: string; line: number }[] = [];
  for (const input of await readInputs(files, io)) {
    for (const item of parseManifests(input.text, input.source)) {
      parsed.push(item);
      origins.push({ source: input.source, line: item.line });
    }
  }
  return { parsed, locate: (index) => origins[index] };
}

/** Adds file and line to an error that the core located by document index. */
function located(error: unknown, locate: (index: number) => { source: string; line: number } | undefined): unknown {
  if (!(error instanceof DevError) || error.where.document === undefined) return error;
  const origin = locate(error.where.document);
  return origin ? new DevError(error.code, error.message, error.hint, { ...error.where, ...origin }) : error;
}

async function runLocal(options: LocalOptions, io: CliIO, transform: (objects: KubeObject[]) => KubeObject[]): Promise<void> {
  if (options.files.length === 0) {
    throw new DevError('INVALID_OPTION', '--local needs the objects to change, given with -f', 'pass -f FILE, -f DIR or -f - (standard input).');
  }
  const { parsed, locate } = await readObjects(options.files, io);
  let result: KubeObject[];
  try {
    result = transform(parsed.map((p) => p.object));
  } catch (error) {
    throw located(error, locate);
  }
  // A document that changed must have been read unambiguously (no duplicate key, nothing kubectl refuses).
  const kept = new Set(result);
  parsed.forEach((p, index) => {
    if (!kept.has(p.object)) assertRewritable(p.problems, { source: locate(index)?.source ?? '-', document: index, line: p.line, object: `${String(p.object.kind)}/${String(p.object.metadata?.name)}` });
  });
  // Printed in one write, after everything succeeded: an error leaves stdout empty.
  io.stdout.write(printManifests(result, options.output, parsed));
}

export function startLocal(options: LocalOptions & { enter: EnterOptions }, io: CliIO): Promise<void> {
  return runLocal(options, io, (objects) => enter(objects, options.enter));
}

export function endLocal(options: LocalOptions, io: CliIO): Promise<void> {
  return runLocal(options, io, (objects) => exit(objects));
}
