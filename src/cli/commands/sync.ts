// `kubectl dev sync KIND/NAME`: keep a local directory and the dev container's work
// dir in sync (after a Ctrl-C of `start`, from another terminal, or for workloads
// put in dev mode by the post-renderer).
//
//   (default)  run in the foreground and show the state until Ctrl-C
//   --once     sync until the dev container has the current local state, then stop
//   --wait     make sure a sync runs (in the background if none does), return once in sync
//
// The sync module (and client-node with it) is loaded only when the command runs.

import { dirname, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { parseDuration } from '../../core/duration.ts';
import type { DevConfig } from '../../config/devconfig.ts';
import type { CliIO } from '../io.ts';
import { forwardsFrom, withForwardFlags, type ForwardArgs } from '../forward-flags.ts';
import { withKubeFlags, type KubeArgs } from '../kube-flags.ts';

interface SyncArgs extends KubeArgs, ForwardArgs {
  workload: string;
  'local-dir'?: string;
  wait: boolean;
  once: boolean;
  'two-way'?: boolean;
  config?: string;
  syncthing?: string;
  timeout: string;
  ignore?: string | string[];
  background: boolean;
  watcher: 'fast' | 'syncthing';
  'watcher-delay': number;
}

/** How to start this same program again (for --wait's background session). */
function selfCommand(): string[] {
  const script = process.argv[1];
  // A single executable (Node SEA) has no script: the executable is the program.
  if (!script || script === process.execPath || !/\.(c|m)?(j|t)s$/.test(script)) return [process.execPath];
  return [process.execPath, ...process.execArgv, script];
}

/** The dev config's sync settings for a workload (its entry over `defaults`), with localDir resolved against the file's directory. */
export function syncSettingsFrom(config: DevConfig | undefined, kind: string, name: string, configDir: string): { localDir?: string; ignore: string[]; twoWay?: boolean } {
  const entry = config?.workloads.find((w) => w.ref.kind.kind === kind && w.ref.name === name)?.sync;
  const defaults = config?.defaults.sync;
  const localDir = entry?.localDir ?? defaults?.localDir;
  const mode = entry?.mode ?? defaults?.mode;
  return {
    ...(localDir !== undefined ? { localDir: resolve(configDir, localDir) } : {}),
    ignore: [...(defaults?.ignore ?? []), ...(entry?.ignore ?? [])],
    ...(mode !== undefined ? { twoWay: mode === 'two-way' } : {}),
  };
}

export function syncCommand(io: CliIO): CommandModule {
  return {
    command: 'sync <workload>',
    describe: 'Sync a local directory to the dev container of a workload in dev mode',
    builder: (y: Argv) =>
      withForwardFlags(withKubeFlags(y))
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web', demandOption: true })
        .option('local-dir', { type: 'string', describe: 'Local directory to sync (default: the dev config\'s sync.localDir, else the current directory)' })
        .option('wait', { type: 'boolean', default: false, describe: 'Return once the dev container has the current local state; the sync keeps running in the background' })
        .option('once', { type: 'boolean', default: false, describe: 'Sync until the dev container has the current local state, then stop' })
        .option('two-way', { type: 'boolean', describe: 'Also bring changes made in the dev container back (default: the dev config\'s sync.mode, else send-only: the local folder is never changed)' })
        .option('config', { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present): sync.localDir, sync.ignore, sync.mode' })
        .option('syncthing', { type: 'string', describe: 'Path of the syncthing binary (default: $KUBECTL_DEV_SYNCTHING, then syncthing on PATH)' })
        .option('ignore', { type: 'string', describe: 'A path pattern not to sync (syncthing .stignore syntax; repeatable; added to the dev config\'s sync.ignore; .git is ignored by default)' })
        .option('timeout', { type: 'string', default: '5m', describe: 'With --wait/--once: how long to wait for the sync' })
        .option('background', { type: 'boolean', default: false, hidden: true })
        // For comparisons (bench/sync.ts): syncthing's own watcher instead of the fast path.
        .option('watcher', { choices: ['fast', 'syncthing'] as const, default: 'fast' as const, hidden: true })
        .option('watcher-delay', { type: 'number', default: 1, hidden: true })
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
      const fromConfig = syncSettingsFrom(config, ref.kind.kind, ref.name, dirname(resolve(io.cwd, config?.source ?? '.kubectl-dev.yaml')));
      const localDir = args['local-dir'] !== undefined ? resolve(io.cwd, args['local-dir']) : (fromConfig.localDir ?? io.cwd);
      const twoWay = args['two-way'] ?? fromConfig.twoWay ?? false;
      // Forwards live as long as this command: not with --once or --wait (which return).
      const forwards = args.background || ((args.wait || args.once) && args.forward === undefined) ? { specs: [], addresses: [] } : forwardsFrom(args, config, ref.kind.kind, ref.name);
      if ((args.wait || args.once) && forwards.specs.length > 0) {
        throw new DevError('INVALID_OPTION', `--forward cannot be used with --${args.wait ? 'wait' : 'once'}: the forwards would end when the command returns`,
          `run kubectl dev sync ${args.workload} -p … in the foreground, or kubectl dev run ${args.workload} -p … -- CMD.`);
      }
      const ignores = [...fromConfig.ignore, ...[args.ignore ?? []].flat()];
      const sync = await import('../../sync/index.ts');
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const kubeTarget = kubeTargetFromArgs(args, io);
      const { kc, namespace } = kubeTarget;
      // The background session (--wait) talks to the same cluster as this command.
      const kubeFlags = (['kubeconfig', 'context', 'cluster', 'user', 'request-timeout'] as const).flatMap((flag) => (args[flag] !== undefined ? [`--${flag}`, String(args[flag])] : []));
      const target = sync.syncTargetOf(kc, namespace, ref.kind.kind, ref.name);
      const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
      const say = (line: string) => io.stdout.write(`${line}\n`);

      // --wait / --once with a session already running (here or in another terminal): just wait for it.
      if ((args.wait || args.once) && !args.background && sync.attachSession(target, io.env)) {
        const status = await sync.waitForSession(target, io.env, { timeoutMs });
        say(`${what}: in sync (${status.state})`);
        return;
      }
      if (args.wait && !args.background) {
        const command = [...selfCommand(), 'sync', args.workload, '-n', namespace, ...kubeFlags, '--local-dir', localDir, '--background',
          ...(twoWay ? ['--two-way'] : ['--no-two-way']), ...(args.syncthing ? ['--syncthing', resolve(io.cwd, args.syncthing)] : []),
          ...ignores.flatMap((p) => ['--ignore', p])];
        const pid = await sync.startBackgroundSync(target, io.env, command, { timeoutMs: 60_000, cwd: io.cwd });
        const status = await sync.waitForSession(target, io.env, { timeoutMs });
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
          namespace, kind: ref.kind.kind, name: ref.name, localDir,
          twoWay,
          ...(args.syncthing !== undefined ? { syncthingPath: resolve(io.cwd, args.syncthing) } : {}),
          ignores,
          ...(args.watcher === 'syncthing' ? { watcher: 'syncthing' as const, watcherDelayS: args['watcher-delay'] } : {}),
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
      } finally {
        process.off('SIGINT', stopOnSignal);
        process.off('SIGTERM', stopOnSignal);
      }
    },
  };
}
