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
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { parseDuration } from '../../core/duration.ts';
import type { CliIO } from '../io.ts';
import { forwardsFrom, withForwardFlags, type ForwardArgs } from '../forward-flags.ts';
import { withKubeFlags, type KubeArgs } from '../kube-flags.ts';
import { syncChoiceFrom, withSyncFlags, type SyncFlagArgs } from '../sync-flags.ts';

interface SyncArgs extends KubeArgs, ForwardArgs, SyncFlagArgs {
  workload: string;
  wait: boolean;
  once: boolean;
  timeout: string;
  background: boolean;
}

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

export function syncCommand(io: CliIO): CommandModule {
  return {
    command: 'sync <workload>',
    describe: 'Sync a local directory to the dev container of a workload in dev mode',
    builder: (y: Argv) =>
      withSyncFlags(withForwardFlags(withKubeFlags(y)))
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web', demandOption: true })
        .option('wait', { type: 'boolean', default: false, describe: 'Return once the dev container has the current local state; the sync keeps running in the background' })
        .option('once', { type: 'boolean', default: false, describe: 'Sync until the dev container has the current local state, then stop' })
        .option('timeout', { type: 'string', default: '5m', describe: 'With --wait/--once: how long to wait for the sync' })
        .option('background', { type: 'boolean', default: false, hidden: true })
        .example('$0 sync deploy/web --local-dir ./web', 'sync ./web until Ctrl-C')
        .example('$0 sync deploy/web --wait && kubectl dev exec deploy/web -- make test', 'make sure the container has your latest code, then test'),
    handler: async (argv) => {
      const args = argv as unknown as SyncArgs;
      if (args.wait && args.once) {
        throw new DevError('INVALID_OPTION', '--wait and --once cannot be used together', '--once stops the sync when done; --wait leaves it running in the background.');
      }
      const ref = parseWorkloadRef(args.workload);
      const timeoutMs = parseDuration(args.timeout, '--timeout');
      // The background session gets every setting on its command line, already merged.
      // Loaded here, not at the top: the dev config reader brings yaml, which `version` and `--help` do not need.
      const config = args.background ? undefined : (await import('../devconfig-file.ts')).loadDevConfigFile(args.config, io);
      const { localDir, twoWay, ignores, ...choice } = syncChoiceFrom(args, config, ref.kind.kind, ref.name, io.cwd);
      // Forwards live as long as this command: not with --once or --wait (which return).
      const forwards = args.background || ((args.wait || args.once) && args.forward === undefined) ? { specs: [], addresses: [] } : forwardsFrom(args, config, ref.kind.kind, ref.name);
      if ((args.wait || args.once) && forwards.specs.length > 0) {
        throw new DevError('INVALID_OPTION', `--forward cannot be used with --${args.wait ? 'wait' : 'once'}: the forwards would end when the command returns`,
          `run kubectl dev sync ${args.workload} -p … in the foreground, or kubectl dev run ${args.workload} -p … -- CMD.`);
      }
      const sync = await import('../../sync/index.ts');
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const kubeTarget = kubeTargetFromArgs(args, io);
      const { kc, namespace } = kubeTarget;
      // The background session (--wait) talks to the same cluster as this command.
      const kubeFlags = (['kubeconfig', 'context', 'cluster', 'user', 'request-timeout'] as const).flatMap((flag) => (args[flag] !== undefined ? [`--${flag}`, String(args[flag])] : []));
      const target = sync.syncTargetOf(kc, namespace, ref.kind.kind, ref.name);
      const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
      const say = (line: string) => io.stdout.write(`${line}\n`);
      const startedAt = Date.now();
      // A wait on a session in another process that ended itself meanwhile fails with why it ended, not with what the wait saw.
      const orWhyEnded = async (error: unknown): Promise<never> => {
        const { readSession } = await import('../../sync/state.ts');
        const ended = readSession(sync.statePaths(io.env, target).session)?.ended;
        if (ended && Date.parse(ended.at) >= startedAt) {
          throw (await import('../../sync/presence.ts')).sessionEndedError(ended, target.kind, target.name, target.namespace);
        }
        throw error;
      };

      // --wait / --once with a session already running (here or in another terminal): just wait for it.
      if ((args.wait || args.once) && !args.background && sync.attachSession(target, io.env)) {
        const status = await sync.waitForSession(target, io.env, { timeoutMs }).catch(orWhyEnded);
        say(`${what}: in sync (${status.state})`);
        return;
      }
      if (args.wait && !args.background) {
        const command = [...selfCommand(), 'sync', args.workload, '-n', namespace, ...kubeFlags, '--local-dir', localDir, '--background',
          ...(twoWay ? ['--two-way'] : ['--no-two-way']), ...(choice.syncthingPath ? ['--syncthing', choice.syncthingPath] : []),
          ...ignores.flatMap((p) => ['--ignore', p])];
        const pid = await sync.startBackgroundSync(target, io.env, command, { timeoutMs: 60_000, cwd: io.cwd }).catch(orWhyEnded);
        const status = await sync.waitForSession(target, io.env, { timeoutMs }).catch(orWhyEnded);
        say(`${what}: in sync (${status.state}); the sync keeps running in the background (pid ${pid}); kubectl dev end stops it`);
        return;
      }

      // Forwards first: a busy local port stops the command before the sync starts.
      let closeForwards = async () => {};
      if (forwards.specs.length > 0) {
        const { openForwards, describeForwards } = await import('../../run/forwards.ts');
        const { LabelPodFinder } = await import('../../sync/portforward.ts');
        const { WORKLOAD_LABEL } = await import('../../core/marks.ts');
        const { workloadLabelValue } = await import('../../core/names.ts');
        const open = await openForwards({
          kc, namespace, specs: forwards.specs, addresses: forwards.addresses,
          finder: new LabelPodFinder(kc, namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(ref.kind.kind, ref.name)}`),
          onError: (message) => say(`forward: ${message}`),
        });
        for (const line of describeForwards(open.open)) say(line);
        closeForwards = () => open.close();
      }
      let handle: Awaited<ReturnType<typeof sync.runSync>>;
      try {
        handle = await sync.runSync({
          namespace, kind: ref.kind.kind, name: ref.name, localDir, twoWay, ignores, ...choice,
        }, {
          kc,
          env: io.env,
          onEvent: (event) => {
            if (args.background) return;
            if (event.type === 'notice') say(`note: ${event.message}`);
            else {
              const s = event.status;
              const detail = s.state === 'syncing' && s.completion !== undefined ? ` ${Math.floor(s.completion)}%` : '';
              const error = s.state === 'error' ? `: ${s.errors[0] ?? s.lastError ?? 'unknown error'}` : s.state === 'connecting' && s.lastError ? ` (${s.lastError})` : '';
              say(`${s.state}${detail}${s.pod && s.connected ? ` [pod ${s.pod}]` : ''}${error}`);
            }
          },
        });
      } catch (error) {
        await closeForwards();
        throw error;
      }
      void handle.done.then(() => closeForwards());
      const stopOnSignal = () => void handle.stop();
      process.once('SIGINT', stopOnSignal);
      process.once('SIGTERM', stopOnSignal);
      try {
        if (!args.background) {
          say(`syncing ${localDir} → ${what}:${handle.material.workdir} in namespace ${namespace} (${twoWay ? 'two-way after the initial sync' : 'send-only'}; syncthing ${handle.binary.version})`);
        }
        if (args.once) {
          try {
            await handle.waitInSync(timeoutMs);
            say(`${what}: in sync`);
          } finally {
            await handle.stop();
          }
          return;
        }
        await handle.done;
        const ended = handle.ended();
        if (ended) throw (await import('../../sync/presence.ts')).sessionEndedError(ended, target.kind, target.name, target.namespace);
      } finally {
        process.off('SIGINT', stopOnSignal);
        process.off('SIGTERM', stopOnSignal);
      }
    },
  };
}
