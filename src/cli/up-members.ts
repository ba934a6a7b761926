// What `up` does for each workload, wired to the product's own parts: start.ts for dev mode,
// run/ for the sync, forwards and command (one process, every output line prefixed), and for
// --wait the sync command's own --wait (a background session each). Loaded when `up` runs.

import { DevError } from '../core/errors.ts';
import { clusterApi } from '../kube/api.ts';
import { startLive } from '../live/start.ts';
import { startRun } from '../run/index.ts';
import { prefixLines } from '../run/output.ts';
import { stopLocalSync, syncTargetOf } from '../sync/index.ts';
import { prefixOf } from '../up/plan.ts';
import type { MemberSteps, Running, Say, UpResult } from '../up/session.ts';
import type { CommandContext } from './command.ts';
import type { UpMember, UpOptions, UpPlan } from './commands/up.ts';
import { formatChanges } from './dry-run.ts';
import type { CliIO } from './io.ts';
import { kubeFlagsOf } from './kube-flags.ts';
import { liveDeps } from './live-deps.ts';
import { syncSecretFactory } from './sync-wiring.ts';

/** kubectl-dev's own lines, on stderr, each with its workload's prefix. */
export function sayer(io: CliIO): Say {
  return (label, line) => io.stderr.write(`${prefixOf(label)}${line}\n`);
}

/** The streams of one workload: every line prefixed. */
function prefixedIO(io: CliIO, label: string): CliIO {
  return { ...io, stdout: prefixLines(io.stdout, prefixOf(label)), stderr: prefixLines(io.stderr, prefixOf(label)) };
}

const what = (m: UpMember) => `${m.ref.kind.kind.toLowerCase()}/${m.ref.name}`;
/** What start is asked: the workload, or (duplicate: true) a dev copy beside it. */
const startRequestOf = (m: UpMember, plan: UpPlan) => ({ ref: m.ref, settings: m.settings, timeoutMs: plan.timeoutMs, devConfig: plan.devConfig, ...(m.duplicate ? { duplicate: {} } : {}), ...(m.gitops ? { gitops: m.gitops } : {}) });
/** The workload in dev mode: the one named, or its dev copy. */
type InDevMode = Pick<UpMember['ref'], 'kind' | 'name' | 'namespace'>;

/**
 * Every workload read and planned, in parallel, nothing changed (`client`), or as the API server
 * takes it (`server`): all problems at once, each with its prefix. Resolves to the plans as text.
 */
export async function planAll(plan: UpPlan, io: CliIO, dryRun: 'client' | 'server'): Promise<string> {
  const results = await Promise.allSettled(plan.members.map((m) => startLive(
    { ...startRequestOf(m, plan), dryRun },
    liveDeps(plan.kube, io, { quiet: true, syncSecret: syncSecretFactory() }),
  )));
  const problems: string[] = [];
  const hints: string[] = [];
  let code: DevError['code'] | undefined;
  const text = results.map((r, i) => {
    const m = plan.members[i]!;
    if (r.status === 'fulfilled') return `${prefixOf(m.label)}${what(m)} in namespace ${m.ref.namespace}:\n${formatChanges(r.value.changes)}`;
    if (!(r.reason instanceof DevError)) throw r.reason;
    code ??= r.reason.code;
    problems.push(`[${m.label}] ${r.reason.message}`);
    hints.push(`[${m.label}] ${r.reason.hint}`);
    return '';
  }).join('');
  if (code) throw new DevError(code, `nothing was changed: ${problems.join('; ')}`, hints.join(' '));
  return text;
}

/** Every fixed local port free now, before any change (`start`'s check, for each workload). */
export async function checkPorts(plan: UpPlan): Promise<void> {
  const { checkLocalPorts } = await import('../run/forwards.ts');
  for (const m of plan.members) {
    try {
      await checkLocalPorts(m.forwards.specs, m.forwards.addresses);
    } catch (error) {
      if (error instanceof DevError) throw new DevError(error.code, `[${m.label}] ${error.message}`, error.hint, error.where);
      throw error;
    }
  }
}

/** Dev mode for one workload: start.ts with its progress lines prefixed. Resolves to what is in dev mode (the workload or its copy). */
async function startOne(m: UpMember, plan: UpPlan, options: UpOptions, io: CliIO): Promise<InDevMode> {
  const own = prefixedIO(io, m.label);
  const deps = liveDeps(plan.kube, own, { quiet: options.quiet ?? false, syncSecret: syncSecretFactory() });
  const result = await startLive(startRequestOf(m, plan), deps);
  const copy = result.copy ? ` (${result.copy.kind.kind.toLowerCase()}/${result.copy.name}, a dev copy; ${what(m)} is untouched)` : '';
  own.stderr.write(`${what(m)}${copy} is in dev mode: pod ${result.devPod?.metadata?.name ?? '?'}, container ${result.settings.devContainer}, namespace ${m.ref.namespace}\n`);
  return result.copy ?? m.ref;
}

/** Sync, forwards and the command (the dev config's `run`), as `kubectl dev run` runs them. */
async function runOne(m: UpMember, target: InDevMode, plan: UpPlan, io: CliIO): Promise<Running> {
  const say = (line: string) => io.stderr.write(`${prefixOf(m.label)}${line}\n`);
  for (const note of m.sync.ignoreNotes ?? []) say(`note: ${note}`);
  const handle = await startRun({
    kind: target.kind, name: target.name, namespace: target.namespace,
    ...(m.command ? { command: m.command } : {}), restart: true, restartOn: [],
    forwards: m.forwards.specs, addresses: m.forwards.addresses, reverse: m.forwards.reverse, sync: m.sync, timeoutMs: plan.timeoutMs, prefix: prefixOf(m.label),
  }, {
    stdout: io.stdout, stderr: io.stderr, env: io.env, debug: Boolean(io.env.KUBECTL_DEV_DEBUG), say,
    onSyncEvent: (event) => {
      if (event.type === 'notice') say(`sync: ${event.message}`);
      else if (event.status.state === 'error' || (event.status.state === 'connecting' && event.status.lastError)) say(`sync: ${event.status.state}: ${event.status.errors[0] ?? event.status.lastError ?? ''}`);
    },
  }, plan.kube.kc, clusterApi(plan.kube.kc, plan.kube.requestTimeoutMs));
  if (!m.command) say('no run: in the dev config; syncing only');
  return { done: handle.done.then(() => handle.ended()), stop: () => handle.stop() };
}

/** --wait: the sync command's --wait for this workload (a background session, waited for until in sync). */
async function syncInBackground(m: UpMember, target: InDevMode, plan: UpPlan, options: UpOptions, io: CliIO, context: CommandContext): Promise<Running> {
  const { sync } = await import('./commands/sync.ts');
  await sync.handler(sync.withDefaults({
    workload: what(m), namespace: m.ref.namespace, ...kubeFlagsOf(options), wait: true, timeout: options.timeout, ...(m.duplicate ? { duplicate: true } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options['two-way'] !== undefined ? { 'two-way': options['two-way'] } : {}),
    ...(m.sync.syncthingPath !== undefined ? { syncthing: m.sync.syncthingPath } : {}),
  }), prefixedIO(io, m.label), context);
  const session = syncTargetOf(plan.kube.kc, target.namespace, target.kind.kind, target.name);
  return { done: Promise.resolve(undefined), stop: async () => void await stopLocalSync(session, io.env) };
}

export function memberSteps(m: UpMember, plan: UpPlan, options: UpOptions, io: CliIO, context: CommandContext): MemberSteps {
  let target: InDevMode = m.ref;
  return {
    label: m.label,
    start: async () => void (target = await startOne(m, plan, options, io)),
    run: () => (options.wait ? syncInBackground(m, target, plan, options, io, context) : runOne(m, target, plan, io)),
  };
}

/** The closing lines: what is in dev mode, what failed, and how to end it. */
export function summarize(result: UpResult, options: UpOptions, say: Say, interrupted: boolean): void {
  const failed = result.outcomes.filter((o) => o.error).map((o) => o.label);
  const fine = result.outcomes.filter((o) => !o.error && !result.pending.includes(o.label)).map((o) => o.label);
  const down = `kubectl dev down${options.config !== undefined ? ` --config ${options.config}` : ''}`;
  for (const label of result.pending) say(label, `its start was cut off by Ctrl-C: ${down} ${label} restores it, kubectl dev up ${label} finishes it`);
  if (options.wait && !interrupted) {
    if (fine.length > 0) say('up', `in dev mode and in sync: ${fine.join(', ')}; the syncs keep running in the background`);
  } else if (fine.length > 0) {
    say('up', `stopped the commands and syncs; still in dev mode: ${fine.join(', ')}`);
  }
  if (failed.length > 0) say('up', `failed: ${failed.join(', ')} (each as its start left it)`);
  say('up', `${down} ends dev mode for all of them (restores each workload)`);
}
