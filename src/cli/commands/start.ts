// `kubectl dev start`: put a workload in dev mode on the cluster, or (--local) rewrite manifests offline;
// then hand over to `sync` (or, with --run, to `run`), called with this command's options.

import { INITIAL_STRATEGIES } from '../../sync/initial.ts';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef, type WorkloadRef } from '../../core/kinds.ts';
import { refusePersistOffline, claimOptionProblems, type ClaimOptions } from '../../core/persist.ts';
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
    persist: { type: 'string', coerce: repeatable, describe: 'A path of the dev container kept on the workload\'s PersistentVolumeClaim across end and start (repeatable; the work dir too: the synced tree is kept)', field: 'persist' },
    'persist-size': { type: 'string', describe: 'Size of the PersistentVolumeClaim start creates for --persist (default 5Gi)', field: 'size' },
    'persist-class': { type: 'string', describe: 'StorageClass of that claim (default: the cluster\'s default StorageClass)', field: 'storageClass' },
    timeout: { type: 'string', default: '5m', describe: 'How long to wait for the dev pod to be ready' },
    'dry-run': { type: 'string', choices: ['none', 'client', 'server'], describe: 'Print the change as a diff and change nothing (server: validated by the API server)' },
    sync: { type: 'boolean', default: true, describe: 'Hand over to sync once the dev pod is ready (--no-sync: do not)' },
    run: { type: 'string', describe: 'Then run this command line in the dev container and restart it when synced changes land (as kubectl dev run; --run alone: the dev config\'s run)' },
    gitops: { type: 'string', choices: ['pause', 'ignore'], field: 'gitops', describe: 'A workload Argo CD manages: pause its Application\'s automated sync until end (pause), or go ahead anyway (ignore; also leaves Flux\'s switch alone) (default: the dev config\'s gitops)' },
    'local-dir': { type: 'string', describe: 'Local directory synced into the work dir (default: the dev config\'s sync.localDir, else the current directory)' },
    syncthing: { type: 'string', describe: 'Path of the local syncthing binary for the sync (default: $KUBECTL_DEV_SYNCTHING, then the one kubectl-dev carries, then syncthing on PATH)' },
    'two-way': { type: 'boolean', describe: 'Sync changes made in the container back too (default: send-only)' },
    initial: { choices: INITIAL_STRATEGIES, describe: 'When the laptop and the container both have files (a persisted work dir): what the first sync does — local (the laptop wins; default), remote, newest, keep-both (see kubectl dev sync --help)' },
    config: { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present)' },
    duplicate: { type: 'boolean', field: 'duplicate', describe: 'Leave the workload exactly as it is and put a dev copy of it beside it, named after you (e.g. deployment/web-dev-alice); its pods get no traffic from the workload\'s Services (default: the dev config\'s duplicate, else false)' },
    // A flag only, never a dev config setting: a file in a cloned repository must not send a shared cluster's requests to your dev pod.
    'take-traffic': { type: 'boolean', describe: 'With --duplicate: the copy\'s pods keep the workload\'s labels, so the Services (and NetworkPolicies, PodDisruptionBudgets) that select the workload select them too: everyone using those Services on the cluster then gets a share of their requests answered by your dev pod, or failing while nothing listens there' },
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
    ['$0 start deploy/web --duplicate', 'a dev copy beside deploy/web, which keeps serving as it is'],
    ['$0 start deploy/shop --gitops=pause', 'an Argo CD workload: its Application\'s automated sync paused until end'],
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
  refusePersistOffline(settings.persist, 'start --local');
  const { startLocal } = await import('../local.ts');
  await startLocal({ files: options.filename ?? [], output: options.output, enter: { settings, ...(targets ? { targets } : {}), ...(options.force ? { force: true } : {}) } }, io);
}

/** Complete (dev config, kubeconfig) and Validate (every problem at once, before any cluster access). */
async function prepare(options: StartOptions, config: DevConfig | undefined, problems: Problems, io: CliIO) {
  if (!options.workload) {
    problems.add(new DevError('INVALID_OPTION', 'start needs the workload, as KIND/NAME', 'for example: kubectl dev start deployment/web (or --local -f FILE to rewrite manifests offline).'));
    problems.throwIfAny();
  }
  if (!options.sync && (options.run !== undefined || options.forward !== undefined || options.reverse !== undefined)) {
    problems.add(new DevError('INVALID_OPTION', `--no-sync cannot be used with ${options.run !== undefined ? '--run' : options.forward !== undefined ? '--forward' : '--reverse'}`, 'they need the sync session that start hands over to; leave out --no-sync.'));
  }
  const parsed = problems.check(() => parseWorkloadRef(options.workload!));
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(options, io);
  const flags = flagLayer(declaration.options, options, problems);
  const timeoutMs = problems.check(() => parseTimeout(options.timeout, '--timeout'));
  if (!parsed) problems.throwIfAny();
  const resolved = resolve(config, { kind: parsed!.kind.kind, name: parsed!.name }, completed.namespace, flags);
  const forwards = problems.check(() => forwardsFrom(resolved, config, options));
  const volume = checkVolume(resolved.volume, resolved.settings.persist, problems);
  const duplicate = resolved.duplicate ?? false;
  if (options['take-traffic'] && !duplicate) {
    problems.add(new DevError('INVALID_OPTION', '--take-traffic needs --duplicate', `it is about the dev copy's pods; replace mode's dev pod gets the workload's traffic anyway: kubectl dev start ${options.workload} --duplicate --take-traffic`));
  }
  if (duplicate && options.force) {
    problems.add(new DevError('INVALID_OPTION', '--force cannot be used with --duplicate', 'duplicate mode never stops the workload\'s pods, so there is no guard to lift: leave out --force.'));
  }
  if (options.run === '' && resolved.run === undefined) {
    problems.add(new DevError('INVALID_OPTION', '--run needs a command line, or run: in the dev config', `for example: kubectl dev start ${options.workload} --run "npm run dev"`));
  }
  problems.throwIfAny();
  const kube = targetOf(completed);
  const ref: WorkloadRef & { namespace: string } = { ...parsed!, namespace: kube.namespace };
  return { ref, kube, settings: resolved.settings, volume, timeoutMs: timeoutMs!, forwards: forwards!, duplicate, ...(resolved.gitops ? { gitops: resolved.gitops } : {}) };
}

/** The persistent claim's size and class: valid, and only with paths to persist. */
function checkVolume(volume: ClaimOptions, persist: readonly string[] | undefined, problems: Problems): ClaimOptions {
  for (const problem of claimOptionProblems(volume)) problems.add(new DevError('INVALID_OPTION', problem, 'fix --persist-size/--persist-class or persistentVolume: in the dev config.'));
  if ((volume.size !== undefined || volume.storageClass !== undefined) && !(persist && persist.length > 0)) {
    problems.add(new DevError('INVALID_OPTION', 'a persistent volume size or StorageClass was given, but no path to persist', 'add --persist PATH (or persist: in the dev config), or leave out --persist-size and --persist-class.'));
  }
  return volume;
}

async function startHandler(options: StartOptions, io: CliIO, context: CommandContext): Promise<void> {
  // Loaded here, not at the top: `version` and `--help` start without yaml and client-node.
  const { loadDevConfigFile } = await import('../devconfig-file.ts');
  if (options.local) {
    if (options.duplicate || options['take-traffic']) {
      throw new DevError('INVALID_OPTION', `--${options.duplicate ? 'duplicate' : 'take-traffic'} cannot be used with --local`, '--local rewrites manifests in place, offline; duplicate mode makes a copy on the cluster: leave out one of them.');
    }
    return startOffline(options, loadDevConfigFile(options.config, io), io);
  }
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
  const gitops = plan.gitops ? { gitops: plan.gitops } : {};
  const result = await startLive({
    ref, settings: plan.settings, volume: plan.volume, timeoutMs: plan.timeoutMs, ...(dryRun ? { dryRun } : {}), ...(options.force ? { force: true } : {}),
    ...(plan.duplicate ? { duplicate: { takeTraffic: options['take-traffic'] ?? false } } : {}), ...gitops,
  }, deps);
  if (dryRun) {
    const { formatChanges } = await import('../dry-run.ts');
    io.stdout.write(formatChanges(result.changes));
    return;
  }
  const named = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
  const what = result.copy ? `${result.copy.kind.kind.toLowerCase()}/${result.copy.name}` : named;
  const copyNote = result.copy ? ` (a dev copy of ${named}, which is untouched${options['take-traffic'] ? `; its Services send it a share of their requests` : ''})` : '';
  io.stdout.write(`${what}${copyNote} is in dev mode: pod ${result.devPod?.metadata?.name ?? '?'}, container ${result.settings.devContainer}, namespace ${ref.namespace}\n`);
  io.stdout.write(`  run a shell:  kubectl dev exec ${what} -n ${ref.namespace}\n  end:          kubectl dev end ${what} -n ${ref.namespace}\n`);
  if (!options.sync) {
    io.stdout.write(`  sync code:    kubectl dev sync ${what} -n ${ref.namespace}\n`);
    return;
  }
  await handOver({ ...options, ...(plan.duplicate ? { duplicate: true } : {}) }, kube, io, context);
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
    ...(options.reverse !== undefined ? { reverse: options.reverse } : {}),
    ...(options.address !== undefined ? { address: options.address } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options['local-dir'] !== undefined ? { 'local-dir': options['local-dir'] } : {}),
    // The original's dev config entry still applies: sync and run find the copy from the name and --duplicate.
    ...(options.duplicate !== undefined ? { duplicate: options.duplicate } : {}),
    ...(options.syncthing !== undefined ? { syncthing: options.syncthing } : {}),
    // --no-two-way is start's default: the dev config's two-way still needs --two-way.
    ...(options['two-way'] ? { 'two-way': true } : {}),
    ...(options.initial !== undefined ? { initial: options.initial } : {}),
  };
  if (options.run === undefined) return sync.handler(sync.withDefaults(shared), io, context);
  return run.handler(run.withDefaults({ ...shared, ...(options.run !== '' ? { '--': ['/bin/sh', '-c', options.run] } : {}) }), io, context);
}
