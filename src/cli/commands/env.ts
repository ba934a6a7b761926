// `kubectl dev env KIND/NAME`: the dev container's environment as its kubelet resolved it, for
// tools run on the laptop (dotenv, or -o json); `--files DIR` copies its ConfigMap/Secret files.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { declare, defineCommand, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS } from '../kube-flags.ts';
import { DUPLICATE_OPTION, workloadOrCopy } from '../duplicate-flags.ts';

const declaration = declare({
  command: 'env <workload>',
  describe: 'Print the dev container\'s environment (dotenv, or -o json) as the kubelet resolved it',
  options: {
    ...KUBE_OPTIONS,
    ...DUPLICATE_OPTION,
    output: { alias: 'o', choices: ['dotenv', 'json'] as const, default: 'dotenv' as const, describe: 'Output format' },
    secrets: { type: 'boolean', default: false, describe: 'Also read the Secrets it names and print their values (never by default)' },
    files: { type: 'string', describe: 'Also copy its mounted ConfigMap (and with --secrets, Secret) files under DIR, at their paths in the container' },
  },
  positionals: {
    workload: { type: 'string', describe: 'KIND/NAME in dev mode', demandOption: true },
  },
  examples: [
    ['$0 env deploy/web -n shop > .env', 'the dev container\'s variables for local tools'],
    ['$0 env deploy/web --secrets --files ./pod-files', 'with Secret values, and its config files under ./pod-files'],
  ],
  epilogue: 'What the image itself sets and the Service link variables are not included. Secret values are printed only with --secrets; Secret files are written owner-only (0600, in 0700 directories).',
});

export type EnvOptions = OptionsOfDeclaration<typeof declaration>;

export const env = defineCommand(declaration, envHandler);

export function envCommand(io: CliIO, context: CommandContext) {
  return env.module(io, context);
}

async function envHandler(args: EnvOptions, io: CliIO): Promise<void> {
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  const { clusterApi } = await import('../../kube/api.ts');
  const { devContainerView } = await import('../../live/env.ts');
  const { dotenvLine } = await import('../../core/env.ts');
  // Validate before the kubeconfig is read.
  const parsed = parseWorkloadRef(args.workload);
  const filesDir = args.files === undefined ? undefined : resolve(io.cwd, args.files);
  const target = kubeTargetFromArgs(args, io);
  const ref = await workloadOrCopy({ ...parsed, namespace: target.namespace }, args.duplicate, target);
  const request = { ref, withSecrets: args.secrets };
  const api = clusterApi(target.kc, target.requestTimeoutMs);
  const { pod, container, env: resolved, files } = await devContainerView(request, api, filesDir !== undefined);
  const withheld = resolved.vars.filter((v) => v.value === undefined && v.secret).map((v) => v.name);
  const problems = [...resolved.problems, ...(files?.problems ?? [])];
  if (filesDir !== undefined && files) writeFiles(filesDir, files.files);
  const where = `${ref.kind.kind.toLowerCase()}/${ref.name} -n ${target.namespace}`;
  if (args.output === 'json') {
    const variables = Object.fromEntries(resolved.vars.filter((v) => v.value !== undefined).map((v) => [v.name, v.value]));
    io.stdout.write(`${JSON.stringify({ pod, container, variables, withheld, problems, ...(files ? { files: files.files.map((f) => f.path), withheldFiles: files.withheld } : {}) }, null, 2)}\n`);
  } else {
    const lines = [`# kubectl dev env ${where}: container ${container} of pod ${pod} (without the image's own variables and Service links)`];
    for (const v of resolved.vars) {
      if (v.value !== undefined) lines.push(dotenvLine(v.name, v.value));
      else if (v.secret) lines.push(`# ${v.name}: ${v.source === 'value' ? 'uses a Secret\'s value' : `from a Secret (${v.from})`}; pass --secrets to print it`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  for (const p of problems) io.stderr.write(`warning: ${p}\n`);
  if (files && files.withheld.length > 0) io.stderr.write(`note: Secret files not written (${files.withheld.join(', ')}); pass --secrets to copy them\n`);
}

/** Files at their container paths under `dir`; Secret files owner-only, in owner-only directories. */
function writeFiles(dir: string, files: ReadonlyArray<{ path: string; content: Uint8Array; secret: boolean }>): void {
  // Every path checked before the first write: a bad one leaves nothing half-written.
  const targets = files.map((file) => ({ file, to: join(dir, file.path) }));
  const outside = targets.find(({ to }) => !to.startsWith(`${dir}${sep}`));
  if (outside) throw new DevError('INVALID_INPUT', `the mount path ${outside.file.path} leaves ${dir}`, 'report this: a pod\'s mount paths are absolute paths in the container.');
  for (const { file, to } of targets) {
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    writeFileSync(to, file.content, { mode: file.secret ? 0o600 : 0o644 });
    if (file.secret) chmodSync(to, 0o600);
  }
}
