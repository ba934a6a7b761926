// `kubectl dev status`: workloads in dev mode, as a table or as JSON/YAML for scripts; and, for a
// day, workloads whose sync session on this machine ended itself because they left dev mode.

import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import type { EndedSession, StatusRow } from '../../live/status.ts';
import { declare, defineCommand, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS } from '../kube-flags.ts';
import { DUPLICATE_OPTION, workloadOrCopy } from '../duplicate-flags.ts';

const declaration = declare({
  command: 'status [workload]',
  describe: 'List workloads in dev mode',
  options: {
    ...KUBE_OPTIONS,
    ...DUPLICATE_OPTION,
    'all-namespaces': { alias: 'A', type: 'boolean', describe: 'All namespaces' },
    output: { alias: 'o', choices: ['table', 'json', 'yaml'], default: 'table', describe: 'Output format' },
  },
  positionals: { workload: { type: 'string', describe: 'KIND/NAME to show only that workload' } },
});

export type StatusOptions = OptionsOfDeclaration<typeof declaration>;

export const status = defineCommand(declaration, statusHandler);

export function statusCommand(io: CliIO, context: CommandContext) {
  return status.module(io, context);
}

const COLUMNS: Array<[keyof StatusRow, string]> = [
  ['kind', 'KIND'], ['name', 'NAME'], ['namespace', 'NAMESPACE'], ['container', 'CONTAINER'], ['devPod', 'DEV POD'], ['phase', 'PHASE'], ['since', 'SINCE'], ['heldBy', 'HELD BY'], ['sync', 'SYNC'],
];

/** Shown only when a row is a dev copy (duplicate mode). */
const COPY_COLUMN: [keyof StatusRow, string] = ['duplicateOf', 'COPY OF'];

/** Grouped by the dev config `up` started them from (by name; workloads started alone last), each group in its given order. */
export function byConfig(rows: readonly StatusRow[]): StatusRow[] {
  const rank = (r: StatusRow) => (r.config === '-' ? 1 : 0);
  return rows.map((row, at) => ({ row, at }))
    .sort((a, b) => rank(a.row) - rank(b.row) || a.row.config.localeCompare(b.row.config) || a.at - b.at)
    .map(({ row }) => row);
}

/** The table; a CONFIG column first, rows grouped by it, once any workload was started by `up`; COPY OF once one is a dev copy. */
export function formatTable(given: readonly StatusRow[]): string {
  const grouped = given.some((r) => r.config !== '-');
  const rows = grouped ? byConfig(given) : given;
  const base = rows.some((r) => r.duplicateOf !== undefined) ? [...COLUMNS.slice(0, -1), COPY_COLUMN, ...COLUMNS.slice(-1)] : COLUMNS;
  const columns: Array<[keyof StatusRow, string]> = grouped ? [['config', 'CONFIG'], ...base] : base;
  const table = [columns.map(([, title]) => title), ...rows.map((r) => columns.map(([key]) => String(r[key] ?? '-')))];
  const widths = columns.map((_, i) => Math.max(...table.map((line) => (line[i] as string).length)));
  return `${table.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('   ')).join('\n')}\n`;
}

async function statusHandler(args: StatusOptions, io: CliIO): Promise<void> {
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  const { clusterApi } = await import('../../kube/api.ts');
  const { devModeStatus, withEndedSessions } = await import('../../live/status.ts');
  // Validate before the kubeconfig is read.
  const named = args.workload ? parseWorkloadRef(args.workload) : undefined;
  if (args.duplicate && !named) throw new DevError('INVALID_OPTION', '--duplicate needs the workload, as KIND/NAME', 'for example: kubectl dev status deploy/web --duplicate (kubectl dev status alone lists every copy too).');
  const target = kubeTargetFromArgs(args, io);
  const only = named ? await workloadOrCopy({ ...named, namespace: target.namespace }, args.duplicate, target) : undefined;
  const sync = await import('../../sync/index.ts');
  // The sync column: this machine's session for the workload (connected/syncing/idle/error, or stopped).
  const syncState = async (row: { kind: string; name: string; namespace: string }) => {
    const state = await sync.readSyncState(sync.syncTargetOf(target.kc, row.namespace, row.kind, row.name), io.env, { timeoutMs: 1500 });
    if (!state.running && !state.session) return '-';
    if (!state.running && state.session?.ended) return `ended: ${state.session.ended.reason}`;
    return state.status.state === 'error' && state.status.lastError ? `error: ${state.status.lastError}` : state.status.state;
  };
  const namespace = args['all-namespaces'] ? undefined : target.namespace;
  const live = await devModeStatus({ namespace, ...(only ? { only } : {}), syncState }, clusterApi(target.kc, target.requestTimeoutMs));
  // Sessions of this cluster (their state dir is the one this cluster's target names) that ended themselves.
  const { listSessions } = await import('../../sync/state.ts');
  const ended: EndedSession[] = listSessions(io.env).flatMap(({ dir, session, running }) => {
    if (running || !session.ended) return [];
    if (namespace !== undefined && session.namespace !== namespace) return [];
    if (only && (only.kind.kind !== session.kind || only.name !== session.name)) return [];
    if (sync.statePaths(io.env, sync.syncTargetOf(target.kc, session.namespace, session.kind, session.name)).dir !== dir) return [];
    return [{ kind: session.kind, name: session.name, namespace: session.namespace, ...session.ended }];
  });
  const rows = withEndedSessions(live, ended, Date.now());
  if (args.output === 'json') io.stdout.write(`${JSON.stringify({ items: rows }, null, 2)}\n`);
  else if (args.output === 'yaml') io.stdout.write((await import('yaml')).stringify({ items: rows }));
  else if (rows.length === 0) io.stderr.write(`no workloads in dev mode${args['all-namespaces'] ? '' : ` in namespace ${target.namespace}`}\n`);
  else io.stdout.write(formatTable(rows));
}
