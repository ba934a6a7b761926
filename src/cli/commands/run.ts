// `kubectl dev run KIND/NAME [-- CMD …]`: run a command in the dev container and restart
// it when synced changes have landed there; -p forwards app ports. Ctrl-C stops the
// command in the container and leaves dev mode in place.

import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { parseDuration } from '../../core/duration.ts';
import { resolve } from '../../config/resolve.ts';
import { declare, defineCommand, flagLayer, Problems, repeatable, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { FORWARD_OPTIONS, forwardsFrom } from '../forward-flags.ts';
import { KUBE_OPTIONS } from '../kube-flags.ts';
import { SYNC_OPTIONS, syncChoiceFrom } from '../sync-flags.ts';
import { DUPLICATE_OPTION, workloadOrCopy } from '../duplicate-flags.ts';

const declaration = declare({
  command: 'run <workload> [command..]',
  describe: 'Run a command in the dev container; restart it when synced changes land',
  options: {
    ...KUBE_OPTIONS,
    ...FORWARD_OPTIONS,
    ...SYNC_OPTIONS,
    ...DUPLICATE_OPTION,
    restart: { type: 'boolean', default: true, describe: 'Restart the command when synced changes have landed in the container (--no-restart: never)' },
    'restart-on': { type: 'string', coerce: repeatable, describe: 'Only changes to paths matching this glob restart (repeatable; "*.py" matches at any depth, "src/**" from the top)' },
    timeout: { type: 'string', default: '5m', describe: 'How long to wait for the initial sync before the first start' },
  },
  positionals: {
    workload: { type: 'string', describe: 'KIND/NAME in dev mode', demandOption: true },
    command: { type: 'string', array: true, describe: 'Command and arguments, after -- (default: the dev config\'s run)' },
  },
  examples: [
    ['$0 run deploy/web -p 8080:8080 -- npm run dev', 'run the dev server, restart it on every synced change, forward its port'],
    ['$0 run deploy/api --restart-on "*.py" -- python app.py', 'restart only when Python files change'],
  ],
});

export type RunOptions = OptionsOfDeclaration<typeof declaration>;

export const run = defineCommand(declaration, (options: RunOptions, io, context) => runHandler(options, io, context));

export function runCommand(io: CliIO, context: CommandContext) {
  return run.module(io, context);
}

/** Complete (dev config, kubeconfig) and Validate (every problem at once, before any cluster access). */
async function prepare(options: RunOptions, io: CliIO) {
  const problems = new Problems();
  const ref = problems.check(() => parseWorkloadRef(options.workload));
  const timeoutMs = problems.check(() => parseDuration(options.timeout, '--timeout'));
  const { loadDevConfigFile } = await import('../devconfig-file.ts');
  const config = problems.check(() => loadDevConfigFile(options.config, io));
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(options, io);
  if (!ref) problems.throwIfAny();
  const flags = flagLayer(declaration.options, options);
  const resolved = resolve(config, { kind: ref!.kind.kind, name: ref!.name }, completed.namespace, flags);
  const argvCommand = [...(options.command ?? []), ...(options['--'] ?? [])].map(String);
  const command = argvCommand.length > 0 ? argvCommand : resolved.run !== undefined ? ['/bin/sh', '-c', resolved.run] : undefined;
  if (!command) {
    problems.add(new DevError('INVALID_OPTION', 'run needs a command: after --, or run: in the dev config',
      `for example: kubectl dev run ${options.workload} -- npm run dev (or run: "npm run dev" under workloads: ${options.workload} in .kubectl-dev.yaml).`));
  }
  const forwards = problems.check(() => forwardsFrom(resolved, config, options));
  const sync = syncChoiceFrom(resolved, options, config, io.cwd, problems);
  problems.throwIfAny();
  const kube = targetOf(completed);
  // The dev config's entry is the named workload's; the command runs in the copy's dev container.
  const target = await workloadOrCopy({ ...ref!, namespace: kube.namespace }, resolved.duplicate, kube);
  return { ref: target, timeoutMs: timeoutMs!, command: command!, forwards: forwards!, sync, kube };
}

async function runHandler(options: RunOptions, io: CliIO, _context: CommandContext): Promise<void> {
  const plan = await prepare(options, io);
  const { clusterApi } = await import('../../kube/api.ts');
  const { startRun } = await import('../../run/index.ts');
  const say = (line: string) => io.stderr.write(`[run] ${line}\n`);
  for (const note of plan.sync.ignoreNotes ?? []) say(`note: ${note}`);
  const handle = await startRun({
    kind: plan.ref.kind, name: plan.ref.name, namespace: plan.kube.namespace,
    command: plan.command, restart: options.restart, restartOn: options['restart-on'] ?? [],
    forwards: plan.forwards.specs, addresses: plan.forwards.addresses, reverse: plan.forwards.reverse,
    sync: plan.sync,
    timeoutMs: plan.timeoutMs,
  }, {
    stdout: io.stdout, stderr: io.stderr, env: io.env, debug: Boolean(io.env.KUBECTL_DEV_DEBUG), say,
    onSyncEvent: (event) => {
      if (event.type === 'notice') say(`sync: ${event.message}`);
      else if (event.status.state === 'error' || (event.status.state === 'connecting' && event.status.lastError)) say(`sync: ${event.status.state}: ${event.status.errors[0] ?? event.status.lastError ?? ''}`);
    },
  }, plan.kube.kc, clusterApi(plan.kube.kc, plan.kube.requestTimeoutMs));
  say('Ctrl-C stops the command; the workload stays in dev mode (kubectl dev end restores it)');
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void handle.stop().finally(resolveStop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // A sync run here that ends on its own (stopped by `kubectl dev end`) ends the run too.
    void handle.done.then(stop);
  });
  const ended = handle.ended();
  if (ended) throw ended;
}
