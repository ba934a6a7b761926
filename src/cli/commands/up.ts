// `kubectl dev up [WORKLOAD…]`: every workload of the dev config (or those named) in dev mode,
// each synced, with its `run` command and forwards, all in this one process, every line
// prefixed with its workload (`[reviews] …`). Ctrl-C stops the commands and syncs and keeps
// dev mode (`kubectl dev down` ends it); --wait returns once all are in dev mode and in sync,
// the syncs going on in the background. Everything is checked (the file, the names, each
// workload read and planned, local ports) before the first change to the cluster.

import { resolve as resolvePath, basename, dirname } from 'node:path';
import { DevError } from '../../core/errors.ts';
import type { WorkloadRef } from '../../core/kinds.ts';
import type { DevConfig } from '../../config/devconfig.ts';
import { resolve } from '../../config/resolve.ts';
import { labelsFor, localPortClashes, selectWorkloads, type FailurePolicy } from '../../up/plan.ts';
import { declare, defineCommand, Problems, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { forwardsFrom, type Forwards } from '../forward-flags.ts';
import { KUBE_OPTIONS, parseTimeout } from '../kube-flags.ts';
import { syncChoiceFrom, type SyncChoice } from '../sync-flags.ts';
import type { KubeTarget } from '../../kube/config.ts';
import type { DevSettingsInput } from '../../core/settings.ts';

const declaration = declare({
  command: 'up [workloads..]',
  describe: 'Put every workload of the dev config in dev mode, sync each and run its command, in one terminal',
  options: {
    ...KUBE_OPTIONS,
    config: { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here)' },
    wait: { type: 'boolean', default: false, describe: 'Return once every workload is in dev mode and in sync; the syncs keep running in the background (run commands and forwards are not started)' },
    'abort-on-failure': { type: 'boolean', default: false, describe: 'A workload that fails stops all the others (default: it is reported and the others go on)' },
    timeout: { type: 'string', default: '5m', describe: 'How long to wait for each dev pod to be ready, and for each initial sync' },
    'dry-run': { type: 'string', choices: ['none', 'client', 'server'], describe: 'Print each workload\'s plan and change nothing (server: validated by the API server)' },
    'two-way': { type: 'boolean', describe: 'Allow the two-way sync the dev config asks for (sync.mode: two-way)' },
    syncthing: { type: 'string', describe: 'Path of the local syncthing binary (default: $KUBECTL_DEV_SYNCTHING, then the one kubectl-dev carries)' },
    address: { type: 'string', coerce: (v: unknown) => [v].flat().map(String), describe: 'Local addresses the forwards listen on (default 127.0.0.1)' },
    quiet: { alias: 'q', type: 'boolean', describe: 'No progress lines' },
  },
  positionals: { workloads: { type: 'string', array: true, describe: 'Only these workloads of the dev config (KIND/NAME or NAME)' } },
  examples: [
    ['$0 up', 'every workload of ./.kubectl-dev.yaml: dev mode, sync, run, forwards'],
    ['$0 up reviews ratings --wait', 'two of them, in dev mode and in sync; the syncs in the background'],
    ['$0 down', 'end dev mode for all of them'],
  ],
});

export type UpOptions = OptionsOfDeclaration<typeof declaration>;

export const up = defineCommand(declaration, (options: UpOptions, io, context) => upHandler(options, io, context));

/** One workload of `up`, checked: everything its start, sync, forwards and command need. */
export interface UpMember {
  label: string;
  ref: WorkloadRef & { namespace: string };
  settings: DevSettingsInput;
  sync: SyncChoice;
  forwards: Forwards;
  command?: string[];
  /** `duplicate: true` in the dev config: a dev copy beside the workload (start --duplicate). */
  duplicate?: boolean;
  /** `gitops:` in the dev config (start --gitops). */
  gitops?: 'pause' | 'ignore';
}

export interface UpPlan {
  config: DevConfig;
  /** What is recorded on each workload (status groups by it, down finds it). */
  devConfig: { name: string; path: string };
  members: UpMember[];
  kube: KubeTarget;
  timeoutMs: number;
  policy: FailurePolicy;
}

/** The dev config `up` and `down` need (there is no `up` without one). */
export async function requireDevConfig(path: string | undefined, io: CliIO, problems: Problems, command: string): Promise<DevConfig | undefined> {
  const { loadDevConfigFile } = await import('../devconfig-file.ts');
  const config = problems.check(() => loadDevConfigFile(path, io));
  if (config === undefined && path === undefined) {
    problems.add(new DevError('INVALID_OPTION', `${command} needs a dev config: there is no .kubectl-dev.yaml in ${io.cwd}`, 'run it where the file is, or name it with --config FILE.'));
  }
  return config;
}

/** --wait starts no forwards (they would end with the command). */
const NO_FORWARDS: Forwards = { specs: [], addresses: [], reverse: [] };

/** Complete (dev config, kubeconfig) and Validate (every problem at once, before any cluster access). */
async function prepare(options: UpOptions, io: CliIO): Promise<UpPlan> {
  const problems = new Problems();
  const config = await requireDevConfig(options.config, io, problems, 'up');
  const timeoutMs = problems.check(() => parseTimeout(options.timeout, '--timeout'));
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(options, io);
  const entries = config ? problems.check(() => selectWorkloads(config, (options.workloads ?? []).map(String))) : undefined;
  if (!config || !entries) problems.throwIfAny();
  const refs = entries!.map((e) => ({ ...e.ref, namespace: e.ref.namespace ?? completed.namespace ?? 'default' }));
  const labels = labelsFor(refs.map((r) => ({ kind: r.kind.kind, name: r.name, namespace: r.namespace })));
  const members = refs.map((ref, i): UpMember => {
    const resolved = resolve(config, { kind: ref.kind.kind, name: ref.name }, ref.namespace);
    const sync = syncChoiceFrom(resolved, { 'two-way': options['two-way'], syncthing: options.syncthing, watcher: 'fast', 'watcher-delay': 1 }, config, io.cwd, problems);
    const forwards = options.wait ? NO_FORWARDS : problems.check(() => forwardsFrom(resolved, config, { address: options.address })) ?? NO_FORWARDS;
    return {
      label: labels[i]!, ref, settings: resolved.settings, sync, forwards,
      ...(resolved.run !== undefined ? { command: ['/bin/sh', '-c', resolved.run] } : {}), ...(resolved.duplicate ? { duplicate: true } : {}),
      ...(resolved.gitops ? { gitops: resolved.gitops } : {}),
    };
  });
  const clash = localPortClashes(members.map((m) => ({ label: m.label, specs: m.forwards.specs })));
  if (clash) problems.add(clash);
  problems.throwIfAny();
  const path = resolvePath(io.cwd, config!.source);
  return {
    config: config!, devConfig: { name: config!.name ?? basename(dirname(path)), path }, members, kube: targetOf(completed), timeoutMs: timeoutMs!,
    policy: options['abort-on-failure'] ? 'abort' : 'continue',
  };
}

async function upHandler(options: UpOptions, io: CliIO, context: CommandContext): Promise<void> {
  const plan = await prepare(options, io);
  const wiring = await import('../up-members.ts');
  const dryRun = options['dry-run'] === 'client' || options['dry-run'] === 'server' ? options['dry-run'] : undefined;
  // Read and plan every workload (no change) before the first one changes: a missing workload or container stops them all.
  const plans = await wiring.planAll(plan, io, dryRun ?? 'client');
  if (dryRun) {
    io.stdout.write(plans);
    return;
  }
  if (!options.wait) await wiring.checkPorts(plan);
  const { upAll } = await import('../../up/session.ts');
  const { overallError } = await import('../../up/plan.ts');
  const say = wiring.sayer(io);
  const members = plan.members.map((m) => wiring.memberSteps(m, plan, options, io, context));
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  say('up', `${options.wait ? 'starting' : 'starting, syncing and running'} ${plan.members.map((m) => m.label).join(', ')} from ${plan.devConfig.path}${options.wait ? '' : '; Ctrl-C stops the commands and syncs and keeps dev mode'}`);
  let result;
  try {
    result = await upAll(members, plan.policy, say, interrupt.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  wiring.summarize(result, options, say, interrupt.signal.aborted);
  const failed = overallError('up', result.outcomes);
  // A start still under way when Ctrl-C came would hold the process open until its --timeout: it is cut off, as a crash would (end restores from any point).
  if (result.pending.length > 0) {
    const code = failed ? (await import('../report.ts')).reportError(failed, io) : 130;
    process.exit(code);
  }
  if (failed) throw failed;
}
