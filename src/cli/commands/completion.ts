// Shell completion, one engine for three front ends:
//   kubectl-dev completion bash|zsh   a script for `kubectl-dev <TAB>` (source it from your shell rc)
//   kubectl_complete-dev              kubectl's plugin completion for `kubectl dev <TAB>` (kubectl ≥ 1.26
//                                     runs `kubectl_complete-dev WORDS…` from PATH)
//   kubectl-dev __complete -- WORDS…  the engine: prints cobra-style completions, one per line
//                                     (`value<TAB>description`), then `:<directive>`, as kubectl expects.
// Command and flag names come from yargs' own completion (the parser of src/cli/main.ts), and
// which flags take a value (and which of them have choices) and which commands take a workload
// from the same declarations; workload names come from the cluster with one LIST (kind/name after KIND/), namespaces
// with one LIST, contexts from the kubeconfig. Cluster errors give no completions, never text.

import type { Argv } from 'yargs';
import { WORKLOAD_KINDS } from '../../core/kinds.ts';
import { declare, defineCommand, type CommandContext } from '../command.ts';
import type { CliIO } from '../io.ts';

/** cobra's ShellCompDirective bits. */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileComp: 4, filterFileExt: 8, filterDirs: 16, keepOrder: 32 } as const;

export interface Completions {
  items: Array<{ value: string; description?: string }>;
  directive: number;
}

/** Commands that act on workloads already in dev mode: their names come from the dev-mode label. */
const IN_DEV_MODE_COMMANDS = new Set(['end', 'status', 'exec', 'env', 'sync', 'run']);
/** Flags whose value is a path: the shell completes files. */
const PATH_FLAGS = new Set(['--kubeconfig', '--config', '-f', '--filename', '--local-dir', '--syncthing']);

/** What completion needs of a command, read from its own declaration (the yargs builder). */
interface CommandShape {
  /** Which of its positionals is a workload (KIND/NAME): the first, or after an action (`volumes rm KIND/NAME`). */
  workloadAt?: number;
  /** The choices of its first positional when it is an action (`volumes ls|rm`). */
  actions?: string[];
  /** Its flags that take a value (so the next word is not a positional), as typed: `--namespace`, `-n`. */
  valueFlags: Set<string>;
  /** Its flags with declared choices (yargs completes their values). */
  choiceFlags: Set<string>;
}

const flagWord = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

/** Every command's shape, from the declarations in src/cli/main.ts's COMMANDS. */
async function commandShapes(io: CliIO): Promise<Map<string, CommandShape>> {
  const { default: yargs } = await import('yargs');
  const { COMMANDS } = await import('../main.ts');
  const shapes = new Map<string, CommandShape>();
  for (const command of COMMANDS) {
    const module = command.module(io, { setExitCode: () => {} });
    const declaration = String(module.command);
    const [name, ...positionals] = declaration.split(' ');
    const names = positionals.map((p) => p.replace(/[<>[\].]/g, ''));
    const positionalNames = new Set(names);
    const parser = typeof module.builder === 'function' ? ((module.builder as (y: Argv) => Argv)(yargs([])) ?? yargs([])) : yargs([]);
    // yargs' own record of the declared options (on the instance, not in its type declarations).
    const options = (parser as unknown as { getOptions(): { boolean: string[]; key: Record<string, unknown>; alias: Record<string, string[] | undefined>; choices: Record<string, unknown> } }).getOptions();
    const booleans = new Set(options.boolean);
    const valueFlags = new Set<string>();
    const choiceFlags = new Set<string>();
    for (const key of Object.keys(options.key)) {
      if (booleans.has(key) || positionalNames.has(key)) continue;
      const words = [flagWord(key), ...(options.alias[key] ?? []).map(flagWord)];
      for (const word of words) valueFlags.add(word);
      if (key in options.choices) for (const word of words) choiceFlags.add(word);
    }
    const actions = names[0] === 'action' ? options.choices.action : undefined;
    shapes.set(name as string, {
      ...(names.includes('workload') ? { workloadAt: names.indexOf('workload') } : {}),
      ...(Array.isArray(actions) ? { actions: actions.map(String) } : {}),
      valueFlags, choiceFlags,
    });
  }
  return shapes;
}
/** How long completion waits for the cluster before giving up (a TAB must not hang). */
const CLUSTER_TIMEOUT_MS = 2_000;

/** One short name per kind for `start <TAB>`: deployment/, statefulset/, … */
const KIND_PREFIXES = WORKLOAD_KINDS.map((k) => ({ value: `${k.aliases[0]}/`, description: k.kind }));

export function formatCompletions(result: Completions): string {
  const lines = result.items.map((i) => (i.description ? `${i.value}\t${i.description.replace(/[\t\n]/g, ' ')}` : i.value));
  return `${[...lines, `:${result.directive}`].join('\n')}\n`;
}

interface KubeWords {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** The cluster flags already typed, so that listed names come from the right place. */
function kubeWords(words: readonly string[]): KubeWords {
  const out: KubeWords = {};
  const keys: Record<string, keyof KubeWords> = { '--kubeconfig': 'kubeconfig', '--context': 'context', '--cluster': 'cluster', '--user': 'user', '-n': 'namespace', '--namespace': 'namespace' };
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const eq = word.indexOf('=');
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const key = keys[flag];
    if (!key) continue;
    const value = eq > 0 ? word.slice(eq + 1) : words[i + 1];
    if (value !== undefined && value !== '') out[key] = value;
    if (eq < 0) i++;
  }
  return out;
}

/** The command word and the positionals typed after it (flag values skipped: the command's, or any command's before it). */
function commandAndPositionals(words: readonly string[], shapes: Map<string, CommandShape>): { command?: string; positionals: string[] } {
  const anyCommand = new Set([...shapes.values()].flatMap((s) => [...s.valueFlags]));
  let command: string | undefined;
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '--') break;
    if (word.startsWith('-')) {
      const valueFlags = (command !== undefined ? shapes.get(command)?.valueFlags : undefined) ?? anyCommand;
      if (!word.includes('=') && valueFlags.has(word)) i++;
      continue;
    }
    if (command === undefined) command = word;
    else positionals.push(word);
  }
  return command === undefined ? { positionals } : { command, positionals };
}

async function clusterTarget(words: readonly string[], io: CliIO) {
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  const target = kubeTargetFromArgs({ ...kubeWords(words), 'request-timeout': `${CLUSTER_TIMEOUT_MS}ms` }, io);
  const { clusterApi } = await import('../../kube/api.ts');
  return { target, api: clusterApi(target.kc, CLUSTER_TIMEOUT_MS) };
}

async function workloadNames(typed: string, command: string, words: readonly string[], io: CliIO): Promise<Completions> {
  const slash = typed.indexOf('/');
  const typedKind = typed.slice(0, slash);
  const kind = WORKLOAD_KINDS.find((k) => k.aliases.includes(typedKind.toLowerCase()));
  if (!kind) return { items: [], directive: DIRECTIVE.noFileComp };
  const { target, api } = await clusterTarget(words, io);
  const { DEV_MODE_LABEL } = await import('../../core/marks.ts');
  const label = IN_DEV_MODE_COMMANDS.has(command) ? DEV_MODE_LABEL : undefined;
  const objects = await api.list(kind.group ? `${kind.group}/${kind.version}` : kind.version, kind.kind, target.namespace, label ? { label } : {});
  const items = objects
    .map((o) => `${typedKind}/${o.metadata?.name ?? ''}`)
    .filter((v) => v.startsWith(typed))
    .sort()
    .map((value) => ({ value }));
  return { items, directive: DIRECTIVE.noFileComp };
}

async function namespaces(prefix: string, typed: string, words: readonly string[], io: CliIO): Promise<Completions> {
  const { api } = await clusterTarget(words, io);
  const list = await api.list('v1', 'Namespace', undefined);
  const items = list.map((n) => n.metadata?.name ?? '').filter((n) => n.startsWith(typed)).sort().map((n) => ({ value: `${prefix}${n}` }));
  return { items, directive: DIRECTIVE.noFileComp };
}

async function contexts(prefix: string, typed: string, words: readonly string[], io: CliIO): Promise<Completions> {
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  const { context: _skip, ...rest } = kubeWords(words);
  const { kc } = kubeTargetFromArgs(rest, io);
  const items = kc.getContexts().map((c) => c.name).filter((n) => n.startsWith(typed)).sort().map((n) => ({ value: `${prefix}${n}`, description: n === kc.getCurrentContext() ? 'current' : '' }));
  return { items, directive: DIRECTIVE.noFileComp };
}

/** Command and flag names from yargs' completion over the real command list. */
async function yargsCompletions(words: readonly string[], io: CliIO): Promise<Completions> {
  const { default: yargs } = await import('yargs');
  const { COMMANDS } = await import('../main.ts');
  // yargs adds descriptions ("name:description") only for zsh; it decides when the instance is made.
  const saved = process.env.ZSH_NAME;
  process.env.ZSH_NAME = 'zsh';
  let parser: Argv;
  try {
    parser = yargs([]).parserConfiguration({ 'greedy-arrays': false }).scriptName('kubectl dev');
  } finally {
    if (saved === undefined) delete process.env.ZSH_NAME;
    else process.env.ZSH_NAME = saved;
  }
  const context = { setExitCode: () => {} };
  for (const command of COMMANDS) parser = parser.command(command.module(io, context));
  parser = parser.help().version(false).exitProcess(false).completion('__yargs_completion', false);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => { lines.push(parts.join(' ')); };
  try {
    await parser.parseAsync(['--get-yargs-completions', ...words]);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    console.log = log;
  }
  const current = words[words.length - 1] ?? '';
  const seen = new Set<string>();
  const items: Completions['items'] = [];
  for (const line of lines) {
    // "name:description" with ":" in the name escaped as "\:".
    const match = /^((?:\\:|[^:])*)(?::(.*))?$/.exec(line);
    const value = (match?.[1] ?? line).replace(/\\:/g, ':');
    if (value.startsWith('__') || value === '--help' || value === '--version') continue;
    // yargs offers one-letter aliases as "--n" when the word starts with "--".
    if (/^--[^-]$/.test(value)) continue;
    if (!value.startsWith(current) || seen.has(value)) continue;
    seen.add(value);
    items.push({ value, ...(match?.[2] ? { description: match[2] } : {}) });
  }
  return { items, directive: DIRECTIVE.noFileComp };
}

/** Completions for `kubectl dev WORDS…`, the last word being the one under the cursor (maybe ''). */
export async function complete(input: readonly string[], io: CliIO): Promise<Completions> {
  const words = input.length === 0 ? [''] : [...input];
  const current = words[words.length - 1] as string;
  const before = words.slice(0, -1);
  const previous = before[before.length - 1];
  try {
    const shapes = await commandShapes(io);
    const { command, positionals } = commandAndPositionals(before, shapes);
    const valueFlags = (command !== undefined ? shapes.get(command)?.valueFlags : undefined) ?? new Set([...shapes.values()].flatMap((s) => [...s.valueFlags]));
    // A flag's value.
    if (previous !== undefined && !previous.includes('=') && valueFlags.has(previous)) {
      if (PATH_FLAGS.has(previous)) return { items: [], directive: DIRECTIVE.default };
      if (previous === '-n' || previous === '--namespace') return await namespaces('', current, before, io);
      if (previous === '--context') return await contexts('', current, before, io);
      // Flags with choices: yargs knows them.
      const shape = command !== undefined ? shapes.get(command) : undefined;
      if (shape ? shape.choiceFlags.has(previous) : [...shapes.values()].some((c) => c.choiceFlags.has(previous))) return await yargsCompletions(words, io);
      return { items: [], directive: DIRECTIVE.noFileComp };
    }
    const eq = current.indexOf('=');
    if (current.startsWith('-') && eq > 0) {
      const flag = current.slice(0, eq + 1);
      if (flag === '--namespace=') return await namespaces(flag, current.slice(eq + 1), before, io);
      if (flag === '--context=') return await contexts(flag, current.slice(eq + 1), before, io);
      if (PATH_FLAGS.has(flag.slice(0, -1))) return { items: [], directive: DIRECTIVE.default };
      return { items: [], directive: DIRECTIVE.noFileComp };
    }
    const actions = command !== undefined ? shapes.get(command)?.actions : undefined;
    if (actions && positionals.length === 0 && !current.startsWith('-')) {
      return { items: actions.filter((a) => a.startsWith(current)).map((value) => ({ value })), directive: DIRECTIVE.noFileComp };
    }
    if (command !== undefined && shapes.get(command)?.workloadAt === positionals.length && !current.startsWith('-')) {
      if (current.includes('/')) return await workloadNames(current, command, before, io);
      // The kind's first name when nothing is typed; every singular name and short name that fits otherwise (sts → sts/).
      const items = current === ''
        ? KIND_PREFIXES
        : WORKLOAD_KINDS.flatMap((k) => k.aliases.filter((a) => a !== `${k.aliases[0]}s`).map((a) => ({ value: `${a}/`, description: k.kind })))
          .filter((k) => k.value.startsWith(current.toLowerCase()));
      return { items, directive: DIRECTIVE.noSpace | DIRECTIVE.noFileComp };
    }
    return await yargsCompletions(words, io);
  } catch {
    // No cluster, no kubeconfig, a slow API server: nothing to offer, and nothing printed.
    return { items: [], directive: DIRECTIVE.noFileComp };
  }
}

const BASH_SCRIPT = `# bash completion for kubectl-dev. Load it with:  source <(kubectl-dev completion bash)
# (\`kubectl dev <TAB>\` completes through kubectl's own completion and kubectl_complete-dev on PATH.)
_kubectl_dev_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out directive line
  local -a words=("\${COMP_WORDS[@]:1:COMP_CWORD}")
  [[ \${#words[@]} -eq 0 ]] && words=("")
  out=$(kubectl-dev __complete -- "\${words[@]}" 2>/dev/null) || return
  directive=\${out##*:}
  out=\${out%:*}
  COMPREPLY=()
  while IFS= read -r line; do
    [[ -n "$line" ]] && COMPREPLY+=("\${line%%$'\\t'*}")
  done <<< "$out"
  (( directive & 2 )) && compopt -o nospace 2>/dev/null
  if (( directive & 4 )) || (( \${#COMPREPLY[@]} > 0 )); then
    compopt +o default 2>/dev/null
  fi
}
complete -o default -F _kubectl_dev_complete kubectl-dev
`;

const ZSH_SCRIPT = `#compdef kubectl-dev
# zsh completion for kubectl-dev. Load it with:  source <(kubectl-dev completion zsh)
# (after compinit; or save it as _kubectl-dev in a directory of $fpath)
_kubectl_dev_complete() {
  local out directive line
  local -a lines items nospace
  out=$(kubectl-dev __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  directive=\${lines[-1]#:}
  for line in "\${(@)lines[1,-2]}"; do
    [[ -z "$line" ]] && continue
    if [[ "$line" == *$'\\t'* ]]; then
      items+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else
      items+=("\${line//:/\\\\:}")
    fi
  done
  (( directive & 2 )) && nospace=(-S '')
  if (( \${#items} > 0 )); then
    _describe 'kubectl-dev' items "\${nospace[@]}"
  elif (( ! (directive & 4) )); then
    _files
  fi
}
if [[ "\${funcstack[1]}" == "_kubectl_dev_complete" || "\${funcstack[1]}" == "_kubectl-dev" ]]; then
  _kubectl_dev_complete "$@"
else
  compdef _kubectl_dev_complete kubectl-dev
fi
`;

export function completionScript(shell: 'bash' | 'zsh'): string {
  return shell === 'bash' ? BASH_SCRIPT : ZSH_SCRIPT;
}

export const completion = defineCommand(declare({
  command: 'completion <shell>',
  describe: 'Print a shell completion script (bash or zsh)',
  options: {},
  positionals: { shell: { choices: ['bash', 'zsh'], describe: 'The shell', demandOption: true } },
  examples: [
    ['source <($0 completion bash)', 'completion in this bash session (add it to ~/.bashrc to keep it)'],
    ['$0 completion zsh > "${fpath[1]}/_kubectl-dev"', 'completion for zsh'],
  ],
  epilogue: 'For `kubectl dev <TAB>`, put kubectl_complete-dev (shipped next to the binary) on PATH; kubectl 1.26+ runs it.',
}), (options, io) => {
  io.stdout.write(completionScript(options.shell));
});

export function completionCommand(io: CliIO, context: CommandContext) {
  return completion.module(io, context);
}

/** The hidden engine: `kubectl-dev __complete -- WORDS…` (the words after `kubectl dev`). */
export const completeEngine = defineCommand(declare({
  command: '__complete [words..]',
  describe: false,
  options: {},
  positionals: { words: { type: 'string', array: true } },
  strict: false,
}), async (options, io) => {
  const words = [...(options.words ?? []), ...(options['--'] ?? [])].map(String);
  io.stdout.write(formatCompletions(await complete(words, io)));
});

export function completeCommand(io: CliIO, context: CommandContext) {
  return completeEngine.module(io, context);
}
