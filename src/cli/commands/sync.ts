// `kubectl dev sync KIND/NAME`: keep a local directory and the dev container's work
// dir in sync (after a Ctrl-C of `start`, from another terminal, or for workloads
// put in dev mode by the post-renderer).
//
//   (default)  run in the foreground and show the state until Ctrl-C
//   --once     sync until the dev container has the current local state, then stop
//   --wait     make sure a sync runs (in the background if none does), return once in sync
//
// A session whose workload leaves dev mode elsewhere (end on another machine, deleted) ends
// itself; the command then fails with why (SYNC_NOT_IN_DEV_MODE or NOT_FOUND: exit code 3).
//
// The sync module (and client-node with it) is loaded only when the command runs.

import { realpathSync } from 'node:fs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef, type WorkloadRef } from '../../core/kinds.ts';
import { parseDuration } from '../../core/duration.ts';
import { resolve } from '../../config/resolve.ts';
import type { KubeTarget } from '../../kube/config.ts';
import { declare, defineCommand, flagLayer, Problems, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { FORWARD_OPTIONS, forwardsFrom, type Forwards } from '../forward-flags.ts';
import { KUBE_OPTIONS, kubeFlagsOf } from '../kube-flags.ts';
import { SYNC_OPTIONS, syncChoiceFrom, type SyncChoice } from '../sync-flags.ts';
import { DUPLICATE_OPTION, workloadOrCopy } from '../duplicate-flags.ts';

// node:sea is asked only when needed: this module is in the single binary's startup snapshot.
function isSea(): boolean {
  return process.getBuiltinModule('node:sea').isSea();
}

/**
 * How to start this same program again (for --wait's background session). A single executable
 * (Node SEA) is the program itself. Otherwise node runs a script: dist/kubectl-dev.cjs, or what
 * npm put on PATH for it (a symbolic link without a .cjs ending under npm link, npm i -g and
 * npx, a .cmd shim's target on Windows), or src/bin.ts: node is given that same script again,
 * resolved to its real file, with the same node flags.
 */
export function selfCommand(argv: readonly string[] = process.argv, execPath = process.execPath, execArgv: readonly string[] = process.execArgv, inSea = isSea()): string[] {
  if (inSea) return [execPath];
  const script = argv[1];
  if (!script) throw new Error('cannot tell how this kubectl-dev was started: no script in process.argv');
  let real = script;
  try {
    real = realpathSync(script);
  } catch { /* run as given */ }
  return [execPath, ...execArgv, real];
}

const declaration = declare({
  command: 'sync <workload>',
  describe: 'Sync a local directory to the dev container of a workload in dev mode',
  options: {
    ...KUBE_OPTIONS,
    ...FORWARD_OPTIONS,
    ...SYNC_OPTIONS,
    ...DUPLICATE_OPTION,
    wait: { type: 'boolean', default: false, describe: 'Return once the dev container has the current local state; the sync keeps running in the background' },
    once: { type: 'boolean', default: false, describe: 'Sync until the dev container has the current local state, then stop' },
    timeout: { type: 'string', default: '5m', describe: 'With --wait/--once: how long to wait for the sync' },
    background: { type: 'boolean', default: false, hidden: true },
  },
  positionals: { workload: { type: 'string', describe: 'KIND/NAME, e.g. deployment/web', demandOption: true } },
  examples: [
    ['$0 sync deploy/web --local-dir ./web', 'sync ./web until Ctrl-C'],
    ['$0 sync deploy/web --wait && kubectl dev exec deploy/web -- make test', 'make sure the container has your latest code, then test'],
  ],
});

export type SyncOptions = OptionsOfDeclaration<typeof declaration>;

export const sync = defineCommand(declaration, (options: SyncOptions, io, context) => syncHandler(options, io, context));

export function syncCommand(io: CliIO, context: CommandContext) {
  return sync.module(io, context);
}

/** What Complete and Validate make of the options: everything the session needs, checked. */
interface SyncPlan {
  options: SyncOptions;
  ref: WorkloadRef;
  timeoutMs: number;
  choice: SyncChoice;
  forwards: Forwards;
  kube: KubeTarget;
}

const NO_FORWARDS: Forwards = { specs: [], addresses: [], reverse: [] };

/** Complete (dev config, kubeconfig) and Validate (every problem at once, before any cluster access). */
async function prepare(options: SyncOptions, io: CliIO): Promise<SyncPlan> {
  const problems = new Problems();
  const waits = options.wait || options.once;
  if (options.wait && options.once) {
    problems.add(new DevError('INVALID_OPTION', '--wait and --once cannot be used together', '--once stops the sync when done; --wait leaves it running in the background.'));
  }
  const ref = problems.check(() => parseWorkloadRef(options.workload));
  const timeoutMs = problems.check(() => parseDuration(options.timeout, '--timeout'));
  // The background session gets every setting on its command line, already merged.
  // Loaded here, not at the top: the dev config reader brings yaml, which `version` and `--help` do not need.
  const { loadDevConfigFile } = await import('../devconfig-file.ts');
  const config = options.background ? undefined : problems.check(() => loadDevConfigFile(options.config, io));
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(options, io);
  let choice: SyncChoice | undefined;
  let forwards = NO_FORWARDS;
  let duplicate = false;
  if (ref) {
    const flags = flagLayer(declaration.options, options);
    const resolved = resolve(config, { kind: ref.kind.kind, name: ref.name }, completed.namespace, flags);
    duplicate = resolved.duplicate ?? false;
    choice = syncChoiceFrom(resolved, options, config, io.cwd, problems);
    // Forwards live as long as this command: not with --once or --wait (which return).
    if (!options.background && !(waits && options.forward === undefined && options.reverse === undefined)) forwards = problems.check(() => forwardsFrom(resolved, config, options)) ?? NO_FORWARDS;
    if (waits && (forwards.specs.length > 0 || forwards.reverse.length > 0)) {
      const flag = forwards.specs.length > 0 ? '--forward' : '--reverse';
      problems.add(new DevError('INVALID_OPTION', `${flag} cannot be used with --${options.wait ? 'wait' : 'once'}: the forwards would end when the command returns`,
        `run kubectl dev sync ${options.workload} ${flag === '--forward' ? '-p' : '-R'} … in the foreground, or kubectl dev run ${options.workload} ${flag === '--forward' ? '-p' : '-R'} … -- CMD.`));
    }
  }
  problems.throwIfAny();
  const kube = targetOf(completed);
  // The dev config's entry is the named workload's; the session is the copy's.
  const target = await workloadOrCopy({ ...ref!, namespace: kube.namespace }, duplicate, kube);
  return { options, ref: target, timeoutMs: timeoutMs!, choice: choice!, forwards, kube };
}

async function syncHandler(options: SyncOptions, io: CliIO, _context: CommandContext): Promise<void> {
  const plan = await prepare(options, io);
  if (!options.background) for (const note of plan.choice.ignoreNotes ?? []) io.stderr.write(`note: ${note}\n`);
  const session = await import('../../sync/index.ts');
  const target = session.syncTargetOf(plan.kube.kc, plan.kube.namespace, plan.ref.kind.kind, plan.ref.name);
  const what = `${plan.ref.kind.kind.toLowerCase()}/${plan.ref.name}`;
  const say = (line: string) => io.stdout.write(`${line}\n`);
  const startedAt = Date.now();
  // A wait on a session in another process that ended itself meanwhile fails with why it ended, not with what the wait saw.
  const orWhyEnded = async (error: unknown): Promise<never> => {
    const { readSession } = await import('../../sync/state.ts');
    const ended = readSession(session.statePaths(io.env, target).session)?.ended;
    if (ended && Date.parse(ended.at) >= startedAt) {
      throw (await import('../../sync/presence.ts')).sessionEndedError(ended, target.kind, target.name, target.namespace);
    }
    throw error;
  };
  // --wait / --once with a session already running (here or in another terminal): just wait for it.
  if ((options.wait || options.once) && !options.background && session.attachSession(target, io.env)) {
    const status = await session.waitForSession(target, io.env, { timeoutMs: plan.timeoutMs }).catch(orWhyEnded);
    say(`${what}: in sync (${status.state})`);
    return;
  }
  if (options.wait && !options.background) {
    const pid = await session.startBackgroundSync(target, io.env, [...selfCommand(), ...sync.toArgv(backgroundOptions(plan))], { timeoutMs: 60_000, cwd: io.cwd }).catch(orWhyEnded);
    const status = await session.waitForSession(target, io.env, { timeoutMs: plan.timeoutMs }).catch(orWhyEnded);
    say(`${what}: in sync (${status.state}); the sync keeps running in the background (pid ${pid}); kubectl dev end stops it`);
    return;
  }
  const { runForeground } = await import('../sync-foreground.ts');
  await runForeground({ ...plan, what, target }, io, say);
}


/** The background session (--wait): this command's settings, merged, on the same cluster. */
function backgroundOptions(plan: SyncPlan): SyncOptions {
  const { options, choice } = plan;
  return sync.withDefaults({
    // The workload the session is for (a copy by its own name): the background session reads no dev config.
    workload: `${plan.ref.kind.kind.toLowerCase()}/${plan.ref.name}`,
    namespace: plan.kube.namespace,
    ...kubeFlagsOf(options),
    'local-dir': choice.localDir,
    'two-way': choice.twoWay,
    ...(choice.syncthingPath ? { syncthing: choice.syncthingPath } : {}),
    ...(choice.ignores.length > 0 ? { ignore: choice.ignores } : {}),
    ...(choice.initial !== undefined ? { initial: choice.initial } : {}),
    watcher: options.watcher,
    'watcher-delay': options['watcher-delay'],
    background: true,
  });
}
