// `kubectl dev render`: the dev-mode rewrite as a Helm post-renderer (stdin → stdout),
// in pipes, and as a kustomize KRM exec function (a ResourceList is detected).

import { isUtf8 } from 'node:buffer';
import { appendFileSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { describeLocation, DevError } from '../../core/errors.ts';
import { parseWorkloadRef, type WorkloadRef } from '../../core/kinds.ts';
import { firstInvalidUtf8, utf8Error } from '../../core/yaml/utf8.ts';
import type { Piece } from '../../render/index.ts';
import type { CliIO } from '../io.ts';
import { declare, defineCommand, flagLayer, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import { SETTINGS_OPTIONS } from '../settings-flags.ts';

/** When set, render appends its warnings and errors to this file too (Helm 4 hides a post-renderer's stderr). */
export const RENDER_LOG_ENV = 'KUBECTL_DEV_RENDER_LOG';

function selectsFrom(values: readonly string[], namespace: string | undefined): WorkloadRef[] {
  // `--select a,b` as well as `--select a --select b`.
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '').map((v) => parseWorkloadRef(v, namespace));
}

async function readBytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** The input as text; invalid UTF-8 is refused with its line (go-yaml refuses it too). */
export function decode(bytes: Buffer, source: string): string {
  if (!isUtf8(bytes)) throw utf8Error(bytes, firstInvalidUtf8(bytes), source);
  return bytes.toString('utf8');
}

/**
 * The output as bytes: pieces copied from the input are its own bytes (no document
 * that passes through is re-encoded), new text is encoded.
 */
export function outputBytes(pieces: readonly Piece[], bytes: Buffer, text: string): Buffer[] {
  const ascii = bytes.length === text.length;
  let charAt = 0;
  let byteAt = 0;
  const byteOffset = (offset: number): number => {
    if (ascii) return offset;
    byteAt += Buffer.byteLength(text.slice(charAt, offset));
    charAt = offset;
    return byteAt;
  };
  return pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : bytes.subarray(byteOffset(p.start), byteOffset(p.end))));
}

function errorText(error: DevError): string {
  const where = describeLocation(error.where);
  return [`error: ${error.message}`, ...(where ? [`  where: ${where}`] : []), `  hint: ${error.hint}`].join('\n');
}

function log(io: CliIO, lines: readonly string[]): void {
  const file = io.env[RENDER_LOG_ENV];
  if (!file || lines.length === 0) return;
  try {
    appendFileSync(isAbsolute(file) ? file : join(io.cwd, file), `${lines.join('\n')}\n`);
  } catch {
    // The log is a convenience; rendering does not fail because of it.
  }
}

const declaration = declare({
  command: 'render',
  describe: 'Put workloads of a rendered manifest stream in dev mode (Helm post-renderer, kustomize KRM function, pipes)',
  options: {
    ...SETTINGS_OPTIONS,
    select: { type: 'string', array: true, describe: 'KIND/NAME of a workload to put in dev mode (repeatable, or comma-separated)' },
    config: { type: 'string', describe: 'Dev config file: its workloads are selected and get its settings (flags win)' },
    filename: { alias: 'f', type: 'string', default: '-', describe: 'Input file (default: standard input)' },
    namespace: { alias: 'n', type: 'string', describe: 'Only match --select workloads in this namespace (objects without a namespace always match)' },
  },
  examples: [
    ['helm template web ./chart --post-renderer kubectl-dev --post-renderer-args render --post-renderer-args --select=deployment/web', 'Helm 3'],
    ['kustomize build . | $0 render --select deploy/web --image node:24 | kubectl apply -f -', 'a pipe'],
  ],
  epilogue: `Workloads are selected with --select, with the annotation dev.kubectl-dev.io/enabled: "true", or by the dev config. A ResourceList on stdin (a kustomize exec function) is answered with a ResourceList; its functionConfig is a DevConfig. Helm 4 hides a post-renderer's messages: set ${RENDER_LOG_ENV}=FILE to also write them to FILE.`,
});

export type RenderOptions = OptionsOfDeclaration<typeof declaration>;

export const render = defineCommand(declaration, renderHandler);

export function renderCommand(io: CliIO, context: CommandContext) {
  return render.module(io, context);
}

async function renderHandler(args: RenderOptions, io: CliIO): Promise<void> {
  let outcome;
  let bytes: Buffer = Buffer.alloc(0);
  let text = '';
  try {
    const selects = selectsFrom(args.select ?? [], args.namespace);
    const settings = flagLayer(declaration.options, args);
    // render reads a dev config only when --config names one.
    const config = args.config !== undefined ? (await import('../devconfig-file.ts')).loadDevConfigFile(args.config, io) : undefined;
    const source = args.filename ?? '-';
    bytes = source === '-' ? await readBytes(io.stdin) : readFileSync(isAbsolute(source) ? source : join(io.cwd, source));
    text = decode(bytes, source);
    const { render: renderStream } = await import('../../render/index.ts');
    outcome = renderStream(text, { selects, settings, source, ...(args.force ? { force: true } : {}), ...(config ? { config } : {}) });
  } catch (error) {
    if (error instanceof DevError) log(io, [errorText(error)]);
    else if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      const missing = new DevError('INVALID_INPUT', `cannot read ${args.filename}: no such file`, 'check the path given with -f (use - for standard input).', { source: String(args.filename) });
      log(io, [errorText(missing)]);
      throw missing;
    }
    throw error;
  }
  const warnings = outcome.warnings.map((w) => `warning: ${w}`);
  log(io, outcome.error ? [...warnings, errorText(outcome.error)] : warnings);
  // Written once everything is known (a failed stream render prints nothing; a failed KRM
  // function still answers with its ResourceList), in order: copied pieces are the input's own bytes.
  for (const part of outputBytes(outcome.pieces, bytes, text)) io.stdout.write(part);
  if (warnings.length > 0) io.stderr.write(`${warnings.join('\n')}\n`);
  if (outcome.error) throw outcome.error;
}
