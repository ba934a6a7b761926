// `kubectl dev start`: put a workload in dev mode on the cluster, or (--local) rewrite manifests offline;
// then hand over to `sync` (or, with --run, to `run`), called with this command's options.

import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef, type WorkloadRef } from '../../core/kinds.ts';
import type { DevConfig } from '../../config/devconfig.ts';
import { resolve, settingsOf } from '../../config/resolve.ts';
import type { KubeTarget } from '../../kube/config.ts';
import { declare, defineCommand, flagLayer, Problems, repeatable, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { FORWARD_OPTIONS, forwardsFrom } from '../forward-flags.ts';
import { KUBE_OPTIONS, kubeFlagsOf, parseTimeout } from '../kube-flags.ts';
import { SETTINGS_OPTIONS } from '../settings-flags.ts';
import { syncSecretFactory } from '../sync-wiring.ts';
import { run } from './run.ts';
import { sync } from './sync.ts';

const declaration = declare({
  command: 'start [workload]',
  describe: 'Put a workload in dev mode',
  options: {
    ...SETTINGS_OPTIONS,
    ...KUBE_OPTIONS,
    ...FORWARD_OPTIONS,
    timeout: { type: 'string', default: '5m', describe: 'How long to wait for the dev pod to be ready' },
    'dry-run': { type: 'string', choices: ['none', 'client', 'server'], describe: 'Print the change as a diff and change nothing (server: validated by the API server)' },
    sync: { type: 'boolean', default: true, describe: 'Hand over to sync once the dev pod is ready (--no-sync: do not)' },
    run: { type: 'string', describe: 'Then run this command line in the dev container and restart it when synced changes land (as kubectl dev run; --run alone: the dev config\'s run)' },
    'local-dir': { type: 'string', describe: 'Local directory synced into the work dir (default: the dev config\'s sync.localDir, else the current directory)' },
    syncthing: { type: 'string', describe: 'Path of the local syncthing binary for the sync (default: $KUBECTL_DEV_SYNCTHING, then the one kubectl-dev carries, then syncthing on PATH)' },
    'two-way': { type: 'boolean', describe: 'Sync changes made in the container back too (default: send-only)' },
    config: { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present)' },
    quiet: { alias: 'q', type: 'boolean', describe: 'No progress display' },
    filename: { alias: 'f', type: 'string', coerce: repeatable, describe: 'With --local: manifests to rewrite (file, directory or -)' },
    local: { type: 'boolean', default: false, describe: 'Rewrite the manifests given with -f and print them; no cluster access' },
    output: { alias: 'o', choices: ['yaml', 'json'], default: 'yaml', describe: 'Output format with --local' },
  },
  positionals: { workload: { type: 'string', describe: 'KIND/NAME: deployment|deploy, statefulset|sts, daemonset|ds, job, cronjob|cj, pod|po' } },
  examples: [
    ['$0 start deploy/reviews -n bookinfo --image node:24', 'dev mode for a Deployment'],
    ['$0 start deploy/web --run "npm run dev" -p 3000', 'dev mode, sync, and a dev server restarted on every change, on localhost:3000'],
    ['$0 start deploy/web --dry-run=server', 'show what would change'],
    ['$0 start --local -f app.yaml deploy/web -c web', 'rewrite a manifest offline'],
  ],
});

export type StartOptions = OptionsOfDeclaration<typeof declaration>;

export const start = defineCommand(declaration, (options: StartOptions, io, context) => startHandler(options, io, context));

export function startCommand(io: CliIO, context: CommandContext) {
  return start.module(io, context);
}

/** `--local`: the rewrite on files, the dev config's settings for the named workload. */
async function startOffline(options: StartOptions, config: DevConfig | undefined, io: CliIO): Promise<void> {
  const targets = options.workload ? [parseWorkloadRef(options.workload, options.namespace)] : undefined;
  const flags = flagLayer(declaration.options, options);
  const settings = targets?.[0] ? resolve(config, { kind: targets[0].kind.kind, name: targets[0].name }, options.namespace, flags).settings : settingsOf(flags);
  const { startLocal } = await import('../local.ts');
  await startLocal({ files: options.filename ?? [], output: options.output, enter: { settings, ...(targets ? { targets } : {}), ...(options.force ? { force: true } : {}) } }, io);
}

/** Complete (dev config, kubeconfig) and Validate (every problem at once, before any cluster access). */
async function prepare(options: StartOptions, config: DevConfig | undefined, problems: Problems, io: CliIO) {
  if (!options.workload) {
    problems.add(new DevError('INVALID_OPTION', 'start needs the workload, as KIND/NAME', 'for example: kubectl dev start deployment/web (or --local -f FILE to rewrite manifests offline).'));
    problems.throwIfAny();
  }
  if (!options.sync && (options.run !== undefined || options.forward !== undefined)) {
    problems.add(new DevError('INVALID_OPTION', `--no-sync cannot be used with ${options.run !== undefined ? '--run' : '--forward'}`, 'they need the sync session that start hands over to; leave out --no-sync.'));
  }
  const parsed = problems.check(() => parseWorkloadRef(options.workload!));
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(options, io);
  const flags = flagLayer(declaration.options, options, problems);
  const timeoutMs = problems.check(() => parseTimeout(options.timeout, '--timeout'));
  if (!parsed) problems.throwIfAny();
  const resolved = resolve(config, { kind: parsed!.kind.kind, name: parsed!.name }, completed.namespace, flags);
  const forwards = problems.check(() => forwardsFrom(resolved, config, options));
  if (options.run === '' && resolved.run === undefined) {
    problems.add(new DevError('INVALID_OPTION', '--run needs a command line, or run: in the dev config', `for example: kubectl dev start ${options.workload} --run "npm run dev"`));
  }
  problems.throwIfAny();
  const kube = targetOf(completed);
  const ref: WorkloadRef & { namespace: string } = { ...parsed!, namespace: kube.namespace };
  return { ref, kube, settings: resolved.settings, timeoutMs: timeoutMs!, forwards: forwards! };
}

async function startHandler(options: StartOptions, io: CliIO, context: CommandContext): Promise<void> {
  // Loaded here, not at the top: `version` and `--help` start without yaml and client-node.
  const { loadDevConfigFile } = await import('../devconfig-file.ts');
  if (options.local) return startOffline(options, loadDevConfigFile(options.config, io), io);
  const problems = new Problems();
  const config = problems.check(() => loadDevConfigFile(options.config, io));
  const plan = await prepare(options, config, problems, io);
  const { ref, kube } = plan;
  // A forward whose local port is busy would fail after the workload changed: check first.
  if (options.sync && options['dry-run'] === undefined && plan.forwards.specs.length > 0) await (await import('../../run/forwards.ts')).checkLocalPorts(plan.forwards.specs, plan.forwards.addresses);
  const dryRun = options['dry-run'] === 'client' || options['dry-run'] === 'server' ? options['dry-run'] : undefined;
  const { liveDeps } = await import('../live-deps.ts');
  const { startLive } = await import('../../live/start.ts');
  const deps = liveDeps(kube, io, { quiet: options.quiet ?? false, syncSecret: syncSecretFactory() });
  const result = await startLive({ ref, settings: plan.settings, timeoutMs: plan.timeoutMs, ...(dryRun ? { dryRun } : {}), ...(options.force ? { force: true } : {}) }, deps);
  if (dryRun) {
    const { formatChanges } = await import('../dry-run.ts');
    io.stdout.write(formatChanges(result.changes));
    return;
  }
  const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
  io.stdout.write(`${what} is in dev mode: pod ${result.devPod?.metadata?.name ?? '?'}, container ${result.settings.devContainer}, namespace ${ref.namespace}\n`);
  io.stdout.write(`  run a shell:  kubectl dev exec ${what} -n ${ref.namespace}\n  end:          kubectl dev end ${what} -n ${ref.namespace}\n`);
  if (!options.sync) {
    io.stdout.write(`  sync code:    kubectl dev sync ${what} -n ${ref.namespace}\n`);
    return;
  }
  await handOver(options, kube, io, context);
}

/**
 * Hands over to sync, as `kubectl dev sync` would run it (until Ctrl-C), on the same cluster;
 * with --run, to `run` (sync, forwards and the command). They read the dev config themselves
 * (sync.localDir is relative to the config file).
 */
async function handOver(options: StartOptions, kube: KubeTarget, io: CliIO, context: CommandContext): Promise<void> {
  const shared = {
    workload: options.workload!,
    namespace: kube.namespace,
    ...kubeFlagsOf(options),
    ...(options.forward !== undefined ? { forward: options.forward } : {}),
    ...(options.address !== undefined ? { address: options.address } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options['local-dir'] !== undefined ? { 'local-dir': options['local-dir'] } : {}),
    ...(options.syncthing !== undefined ? { syncthing: options.syncthing } : {}),
    // --no-two-way is start's default: the dev config's two-way still needs --two-way.
    ...(options['two-way'] ? { 'two-way': true } : {}),
  };
  if (options.run === undefined) return sync.handler(sync.withDefaults(shared), io, context);
  return run.handler(run.withDefaults({ ...shared, ...(options.run !== '' ? { '--': ['/bin/sh', '-c', options.run] } : {}) }), io, context);
}
