// `kubectl dev doctor`: checks what kubectl-dev needs and says what to fix.
//   kubeconfig and context → API server reachable (/version) → RBAC for every verb kubectl-dev
//   uses (one SelfSubjectAccessReview each, in parallel) → the local syncthing and its version.
// Exit code 0 when nothing blocks use (warnings allowed); otherwise the class of the first
// blocking problem (src/cli/exit-codes.ts): 4 for the cluster (kubeconfig, API server, RBAC),
// 6 for the local syncthing.
// Client-node and the sync module are loaded only when the command runs.

import type { KubeTarget } from '../../kube/config.ts';
import type { UsedPermission } from '../../live/permissions.ts';
import { declare, defineCommand, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS } from '../kube-flags.ts';

const declaration = declare({
  command: 'doctor',
  describe: 'Check the kubeconfig, the API server, your RBAC permissions and the local syncthing; print what to fix',
  options: {
    ...KUBE_OPTIONS,
    syncthing: { type: 'string', describe: 'Path of the syncthing binary to check (default: $KUBECTL_DEV_SYNCTHING, then the embedded one, then syncthing on PATH)' },
    output: { alias: 'o', choices: ['text', 'json'], default: 'text', describe: 'Output format' },
  },
  epilogue: 'Exit code: 0 when kubectl dev can be used (warnings allowed); 4 when the kubeconfig, the API server or RBAC blocks it; 6 when only the local syncthing does.',
});

export type DoctorOptions = OptionsOfDeclaration<typeof declaration>;

export const doctor = defineCommand(declaration, async (options, io, context) => {
  const checks = await runDoctor(options, io);
  const failed = checks.some((c) => c.level === 'fail');
  if (options.output === 'json') io.stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
  else io.stdout.write(formatChecks(checks));
  const first = checks.find((c) => c.level === 'fail');
  if (first) context.setExitCode(first.name === 'syncthing' ? EXIT.runtime : EXIT.cluster);
});

export function doctorCommand(io: CliIO, context: CommandContext) {
  return doctor.module(io, context);
}

/** What every `start` needs, whatever the kind: without these nothing works. */
const ESSENTIAL = (q: UsedPermission) => q.for === 'all' || q.subresource === 'portforward';

export function permissionName(q: Pick<UsedPermission, 'verb' | 'group' | 'resource' | 'subresource'>): string {
  return `${q.verb} ${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.group ? `.${q.group}` : ''}`;
}

type Level = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  level: Level;
  detail: string;
  /** More lines under the detail (e.g. the missing permissions). */
  more?: string[];
  fix?: string;
}

const MARK: Record<Level, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export function formatChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`[${MARK[c.level]}] ${c.name.padEnd(width)}  ${c.detail}`);
    for (const m of c.more ?? []) lines.push(`       ${' '.repeat(width)}  ${m}`);
    if (c.fix) lines.push(`       ${' '.repeat(width)}  fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => c.level === 'fail').length;
  const warned = checks.filter((c) => c.level === 'warn').length;
  lines.push(failed > 0
    ? `${failed} problem${failed === 1 ? '' : 's'} block${failed === 1 ? 's' : ''} kubectl dev; fix ${failed === 1 ? 'it' : 'them'} as shown above.`
    : warned > 0 ? `kubectl dev can be used; ${warned} warning${warned === 1 ? '' : 's'} above.` : 'kubectl dev is ready to use.');
  return `${lines.join('\n')}\n`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorText(error: unknown): string {
  const e = error as Error & { code?: number | string; body?: unknown; cause?: { code?: string } };
  if (typeof e.code === 'number') {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      /* plain text */
    }
    return `HTTP ${e.code}${message ? `: ${message}` : ''}`;
  }
  return e.cause?.code ?? e.message ?? String(error);
}

/** 1. kubeconfig and context. */
async function checkKubeconfig(args: DoctorOptions, io: CliIO, checks: Check[]): Promise<KubeTarget | undefined> {
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  try {
    const target = kubeTargetFromArgs(args, io);
    if (!target.kc.getCurrentContext() || !target.kc.getCurrentCluster()) {
      checks.push({ name: 'kubeconfig', level: 'fail', detail: 'no current context (and no in-cluster config)', fix: 'set one with kubectl config use-context NAME, or pass --context / --kubeconfig.' });
      return undefined;
    }
    checks.push({ name: 'kubeconfig', level: 'ok', detail: `${target.describe}, namespace ${target.namespace}` });
    return target;
  } catch (error) {
    const e = error as Error & { hint?: string };
    checks.push({ name: 'kubeconfig', level: 'fail', detail: e.message, fix: e.hint ?? 'check KUBECONFIG / --kubeconfig (kubectl config view).' });
    return undefined;
  }
}

/** 2. The API server answers /version. */
async function checkApiServer(target: KubeTarget | undefined, checks: Check[]): Promise<boolean> {
  if (!target) {
    checks.push({ name: 'API server', level: 'fail', detail: 'not checked: no usable kubeconfig', fix: 'fix the kubeconfig first.' });
    return false;
  }
  const timeoutMs = target.requestTimeoutMs > 0 ? target.requestTimeoutMs : 10_000;
  const { clusterApi } = await import('../../kube/api.ts');
  const started = Date.now();
  try {
    const version = await withTimeout(clusterApi(target.kc).serverVersion(), timeoutMs, 'GET /version');
    checks.push({ name: 'API server', level: 'ok', detail: `${target.kc.getCurrentCluster()?.server} answers: Kubernetes ${version} (${Date.now() - started} ms)` });
    return true;
  } catch (error) {
    const text = errorText(error);
    const unauthorized = /^HTTP 401/.test(text);
    checks.push({
      name: 'API server', level: 'fail',
      detail: unauthorized ? `${target.kc.getCurrentCluster()?.server} did not accept your credentials (${text})` : `cannot reach ${target.kc.getCurrentCluster()?.server} (${text})`,
      fix: unauthorized ? 'log in again or refresh the credentials of your kubeconfig user.' : 'check that the cluster is up and the kubeconfig points at it (kubectl cluster-info).',
    });
    return false;
  }
}

/** 3. RBAC for every verb kubectl-dev uses (the kinds table's, through src/live/permissions.ts). */
async function checkRbac(target: KubeTarget, checks: Check[]): Promise<void> {
  const { clusterApi } = await import('../../kube/api.ts');
  const { everyPermission, someKindUsable } = await import('../../live/permissions.ts');
  const permissions = everyPermission();
  const namespace = target.namespace;
  const timeoutMs = target.requestTimeoutMs > 0 ? target.requestTimeoutMs : 10_000;
  try {
    // The same check start and end make (a rules review, access reviews where it cannot tell).
    const lacking = await withTimeout(clusterApi(target.kc).missingPermissions(permissions.map((q) => ({ verb: q.verb, group: q.group, resource: q.resource, namespace, ...(q.subresource ? { subresource: q.subresource } : {}) }))), timeoutMs, 'permission review');
    const missing = permissions.filter((q) => lacking.some((l) => l.verb === q.verb && l.group === q.group && l.resource === q.resource && (l.subresource ?? '') === (q.subresource ?? '')));
    if (missing.length === 0) {
      checks.push({ name: 'RBAC', level: 'ok', detail: `all ${permissions.length} permissions kubectl-dev uses are granted in namespace ${namespace}` });
      return;
    }
    const byFeature = new Map<string, string[]>();
    for (const q of missing) byFeature.set(q.for, [...(byFeature.get(q.for) ?? []), permissionName(q)]);
    const more = [...byFeature].map(([feature, names]) => `${feature === 'all' ? 'every workload' : feature}: ${names.join(', ')}`);
    const blocking = missing.some(ESSENTIAL) || !someKindUsable(missing);
    checks.push({
      name: 'RBAC', level: blocking ? 'fail' : 'warn',
      detail: `${missing.length} of ${permissions.length} permissions missing in namespace ${namespace}${blocking ? '' : ' (some workload kinds or features only)'}:`,
      more,
      fix: `ask a cluster admin to grant these verbs in namespace ${namespace} (a Role and RoleBinding for your user; check one with kubectl auth can-i VERB RESOURCE -n ${namespace}).`,
    });
  } catch (error) {
    checks.push({ name: 'RBAC', level: 'fail', detail: `cannot ask the API server what you may do (${errorText(error)})`, fix: 'check that your user may create selfsubjectaccessreviews.authorization.k8s.io (every authenticated user may by default).' });
  }
}

/** 4. The local syncthing. */
async function checkSyncthing(args: DoctorOptions, io: CliIO, checks: Check[]): Promise<void> {
  const { findSyncthing } = await import('../../sync/binary.ts');
  try {
    const found = await findSyncthing({ env: io.env, cwd: io.cwd, ...(args.syncthing ? { flag: args.syncthing } : {}) });
    const from = found.source === 'flag' ? 'from --syncthing' : found.source === 'env' ? 'from $KUBECTL_DEV_SYNCTHING' : found.source === 'path' ? 'from PATH'
      : `embedded in ${found.embeddedIn === 'binary' ? 'the kubectl-dev binary' : 'the kubectl-dev package'}, checksum verified`;
    checks.push({ name: 'syncthing', level: 'ok', detail: `${found.version} at ${found.path} (${from})` });
  } catch (error) {
    const e = error as Error & { hint?: string };
    checks.push({ name: 'syncthing', level: 'fail', detail: `${e.message} (needed to sync code; start --no-sync works without it)`, fix: e.hint ?? 'install syncthing 1.19 or newer.' });
  }
}

/** Runs every check; each failure is a line, never an exception. */
export async function runDoctor(args: DoctorOptions, io: CliIO): Promise<Check[]> {
  const checks: Check[] = [];
  const target = await checkKubeconfig(args, io, checks);
  const reachable = await checkApiServer(target, checks);
  if (target && reachable) await checkRbac(target, checks);
  else checks.push({ name: 'RBAC', level: 'fail', detail: 'not checked: the API server is not reachable', fix: 'fix the checks above first.' });
  await checkSyncthing(args, io, checks);
  return checks;
}
