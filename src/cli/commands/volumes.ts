// `kubectl dev volumes [ls|rm] [KIND/NAME]`: the PersistentVolumeClaims start made for persisted
// paths (kept across end and start), listed or removed.

import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import type { VolumeRow } from '../../live/volumes.ts';
import { declare, defineCommand, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS } from '../kube-flags.ts';

const declaration = declare({
  command: 'volumes [action] [workload]',
  describe: 'List or remove the persistent volumes of persisted paths (--persist)',
  options: {
    ...KUBE_OPTIONS,
    'all-namespaces': { alias: 'A', type: 'boolean', describe: 'All namespaces (ls)' },
    output: { alias: 'o', choices: ['table', 'json'], default: 'table', describe: 'Output format (ls)' },
  },
  positionals: {
    action: { type: 'string', choices: ['ls', 'rm'], default: 'ls', describe: 'ls: list them; rm: delete the workload\'s' },
    workload: { type: 'string', describe: 'KIND/NAME: only that workload\'s (needed by rm)' },
  },
  examples: [
    ['$0 volumes -A', 'every persistent volume of dev mode'],
    ['$0 volumes rm deploy/web -n shop', 'delete deploy/web\'s (not while it is in dev mode)'],
  ],
});

export type VolumesOptions = OptionsOfDeclaration<typeof declaration>;

export const volumes = defineCommand(declaration, volumesHandler);

const COLUMNS: Array<[keyof VolumeRow, string]> = [['namespace', 'NAMESPACE'], ['name', 'NAME'], ['workload', 'WORKLOAD'], ['size', 'SIZE'], ['status', 'STATUS'], ['age', 'AGE']];

export function formatVolumes(rows: readonly VolumeRow[], withNamespace: boolean): string {
  const columns = COLUMNS.filter(([key]) => withNamespace || key !== 'namespace');
  const table = [columns.map(([, title]) => title), ...rows.map((r) => columns.map(([key]) => r[key]))];
  const widths = columns.map((_, i) => Math.max(...table.map((line) => (line[i] as string).length)));
  return `${table.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('   ')).join('\n')}\n`;
}

async function volumesHandler(args: VolumesOptions, io: CliIO, _context: CommandContext): Promise<void> {
  // Validate before the kubeconfig is read.
  const only = args.workload ? parseWorkloadRef(args.workload) : undefined;
  if (args.action === 'rm' && !only) {
    throw new DevError('INVALID_OPTION', 'volumes rm needs the workload, as KIND/NAME', 'for example: kubectl dev volumes rm deployment/web (kubectl dev volumes ls lists them).');
  }
  if (args.action === 'rm' && args['all-namespaces']) {
    throw new DevError('INVALID_OPTION', 'volumes rm removes one workload\'s volume: -A/--all-namespaces is for ls', 'name its namespace with -n NAMESPACE.');
  }
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  const { clusterApi } = await import('../../kube/api.ts');
  const { listVolumes, removeVolume } = await import('../../live/volumes.ts');
  const target = kubeTargetFromArgs(args, io);
  const api = clusterApi(target.kc, target.requestTimeoutMs);
  if (args.action === 'rm') {
    const name = await removeVolume(api, { ...only!, namespace: target.namespace });
    io.stdout.write(`deleted PersistentVolumeClaim ${name} of ${args.workload} in namespace ${target.namespace}\n`);
    return;
  }
  const namespace = args['all-namespaces'] ? undefined : target.namespace;
  const rows = await listVolumes(api, namespace, Date.now(), only);
  if (args.output === 'json') io.stdout.write(`${JSON.stringify({ items: rows }, null, 2)}\n`);
  else if (rows.length === 0) io.stderr.write(`no persistent volumes of dev mode${namespace === undefined ? '' : ` in namespace ${namespace}`}\n`);
  else io.stdout.write(formatVolumes(rows, namespace === undefined));
}
