// A command declared once: its name, positionals and options with their types. yargs' builder,
// the handler's typed options, the defaults, completion (which reads the builder) and the
// command line that starts the command again (`toArgv`) all come from that one declaration.
// A handler runs Complete (defaults, dev config, kubeconfig: no network) → Validate (every
// problem collected in `Problems`, before any cluster access) → Run.

import type { Argv, CommandModule, InferredOptionTypes, Options, PositionalOptions } from 'yargs';
import type { Field, Layer } from '../config/resolve.ts';
import { DevError } from '../core/errors.ts';
import type { CliIO } from './io.ts';

/** What a command may tell the entry besides success or an error. */
export interface CommandContext {
  /** A command that passes an exit code through (exec) sets it here. */
  setExitCode(code: number): void;
}

/** A yargs option, and the dev-config field it sets (src/config/resolve.ts), with its value as the field's when not the same. */
export type OptionSpec = Options & { field?: Field; asField?: (value: never) => unknown };

type OptionSpecs = Record<string, OptionSpec>;
type PositionalSpecs = Record<string, PositionalOptions>;

/** Keys whose value may be undefined become optional keys (an options object can leave them out). */
type Optional<T> = { [K in keyof T as undefined extends T[K] ? K : never]?: T[K] } & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] };

/** The options a handler receives, typed from the declaration; `--` holds what followed a bare `--`. */
export type OptionsOf<O extends OptionSpecs, P extends PositionalSpecs = Record<never, PositionalOptions>> =
  Optional<InferredOptionTypes<O> & InferredOptionTypes<P>> & { '--'?: string[] };

export interface Declaration<O extends OptionSpecs, P extends PositionalSpecs> {
  /** yargs' command string: the name, then the positionals in order (`run <workload> [command..]`). */
  command: string;
  describe: string | false;
  positionals?: P;
  options: O;
  examples?: ReadonlyArray<readonly [string, string]>;
  epilogue?: string;
  /** false: words yargs does not know are kept (the completion engine). */
  strict?: boolean;
}

export type Handler<T> = (options: T, io: CliIO, context: CommandContext) => void | Promise<void>;

export interface Command<T = unknown> {
  readonly declaration: Declaration<OptionSpecs, PositionalSpecs>;
  readonly name: string;
  /** The yargs command, bound to the streams it writes to. */
  module(io: CliIO, context: CommandContext): CommandModule;
  /** These options with the declared defaults filled in, as yargs would (for a command called from another). */
  withDefaults(given: Partial<T>): T;
  /** The words that give this command these options (positionals first, a list positional after `--`). */
  toArgv(options: T): string[];
  readonly handler: Handler<T>;
}

/** A flag given several times arrives as a list; once, as one value: always a list here. */
export const repeatable = (value: unknown): string[] => [value].flat().map(String);

function positionalNames(command: string): Array<{ name: string; list: boolean }> {
  return command.split(' ').slice(1).map((word) => ({ name: word.replace(/[<>[\]]|\.\./g, ''), list: word.includes('..') }));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A declaration with its literal types kept (the options' types are read from it). */
export function declare<const O extends OptionSpecs, const P extends PositionalSpecs = Record<never, PositionalOptions>>(declaration: Declaration<O, P>): Declaration<O, P> {
  return declaration;
}

/** The options of a declaration made with `declare`. */
export type OptionsOfDeclaration<D> = D extends Declaration<infer O, infer P> ? OptionsOf<O, P> : never;

export function defineCommand<const O extends OptionSpecs, const P extends PositionalSpecs = Record<never, PositionalOptions>>(
  declaration: Declaration<O, P>, handler: Handler<OptionsOf<O, P>>,
): Command<OptionsOf<O, P>> {
  type T = OptionsOf<O, P>;
  const name = declaration.command.split(' ')[0] as string;
  const builder = (y: Argv): Argv => {
    // yargs gets the options without what only the dev-config merge reads.
    const options = Object.fromEntries(Object.entries(declaration.options).map(([key, { field: _field, asField: _asField, ...spec }]) => [key, spec]));
    let parser = y.options(options) as Argv;
    for (const [key, spec] of Object.entries(declaration.positionals ?? {})) parser = parser.positional(key, spec);
    for (const [example, text] of declaration.examples ?? []) parser = parser.example(example, text);
    if (declaration.epilogue) parser = parser.epilogue(declaration.epilogue);
    return declaration.strict === false ? parser.strict(false) : parser;
  };
  return {
    declaration,
    name,
    handler,
    module: (io, context) => ({
      command: declaration.command,
      describe: declaration.describe,
      builder,
      // yargs parsed exactly the options the builder declared: their types are T's.
      handler: (argv) => handler(argv as T, io, context),
    }),
    // The declared defaults are the values of exactly the keys T requires beyond `given`'s.
    withDefaults: (given) => ({ ...Object.fromEntries(Object.entries(declaration.options).flatMap(([key, spec]) => ('default' in spec ? [[key, spec.default]] : []))), ...given }) as T,
    toArgv: (options) => {
      const values = options as Record<string, unknown>;
      const words = [name];
      const rest: string[] = [];
      for (const { name: key, list } of positionalNames(declaration.command)) {
        const value = values[key];
        if (list) rest.push(...repeatable(value ?? []));
        else if (value !== undefined) words.push(String(value));
      }
      for (const [key, spec] of Object.entries(declaration.options)) {
        const value = values[key];
        if (value === undefined || ('default' in spec && same(value, spec.default))) continue;
        if (typeof value === 'boolean') words.push(value ? `--${key}` : `--no-${key}`);
        else for (const one of repeatable(value)) words.push(`--${key}`, one);
      }
      rest.push(...(values['--'] as string[] | undefined ?? []));
      return rest.length > 0 ? [...words, '--', ...rest] : words;
    },
  };
}

/**
 * The flag layer of the dev-config merge: every declared option that sets a field and was given,
 * in declaration order. A value that is not what its field takes goes to `problems` (thrown without).
 */
export function flagLayer(specs: OptionSpecs, options: object, problems?: Problems): Layer {
  const layer: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const value = (options as Record<string, unknown>)[key];
    if (spec.field === undefined || value === undefined) continue;
    const asField = spec.asField;
    const converted = !asField ? value : problems ? problems.check(() => asField(value as never)) : asField(value as never);
    if (converted !== undefined) layer[spec.field] = converted;
  }
  return layer as Layer;
}

/** The problems Validate finds, all of them, reported at once. */
export class Problems {
  private readonly errors: DevError[] = [];

  /** Runs one check; the DevError it throws is kept (anything else is a bug and passes through). */
  check<R>(check: () => R): R | undefined {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof DevError)) throw error;
      this.errors.push(error);
      return undefined;
    }
  }

  add(error: DevError): void {
    this.errors.push(error);
  }

  /** One problem is thrown as it is; several as one error listing each, with each hint. */
  throwIfAny(): void {
    const [first, ...more] = this.errors;
    if (!first) return;
    if (more.length === 0) throw first;
    throw new DevError(first.code, `${this.errors.length} problems: ${this.errors.map((e) => e.message).join('; ')}`,
      this.errors.map((e) => e.hint).join(' '), first.where);
  }
}
