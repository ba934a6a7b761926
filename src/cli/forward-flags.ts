// -p/--forward and --address (start, sync, run), with the dev config's `forward:` as default.

import type { Argv } from 'yargs';
import type { DevConfig } from '../config/devconfig.ts';
import { listenAddresses, parseForwardSpecs, type ForwardSpec } from '../config/forward-spec.ts';

export interface ForwardArgs {
  forward?: string | number | Array<string | number>;
  address?: string | string[];
}

export function withForwardFlags<T>(y: Argv<T>): Argv<T> {
  return y
    .option('forward', { alias: 'p', type: 'string', describe: 'Forward a local port to the dev pod: LOCAL:REMOTE, :REMOTE (a free local port) or PORT (repeatable; default: the dev config\'s forward)' })
    .option('address', { type: 'string', describe: 'Local addresses the forwards listen on, as kubectl port-forward: IPs or localhost (comma separated; default 127.0.0.1)' }) as Argv<T>;
}

/** The config entry for a workload over `defaults` (run and forward). */
export function workloadEntry(config: DevConfig | undefined, kind: string, name: string): { forward?: string[]; run?: string } {
  const entry = config?.workloads.find((w) => w.ref.kind.kind === kind && w.ref.name === name);
  const forward = entry?.forward ?? config?.defaults.forward;
  const run = entry?.run ?? config?.defaults.run;
  return { ...(forward ? { forward } : {}), ...(run !== undefined ? { run } : {}) };
}

/** Flags win over the dev config: -p given replaces the config's list. */
export function forwardsFrom(args: ForwardArgs, config: DevConfig | undefined, kind: string, name: string): { specs: ForwardSpec[]; addresses: string[] } {
  const flags = args.forward === undefined ? [] : [args.forward].flat();
  const specs = flags.length > 0 ? parseForwardSpecs(flags, '--forward') : parseForwardSpecs(workloadEntry(config, kind, name).forward ?? [], `forward in ${config?.source ?? 'the dev config'}`);
  const addresses = args.address === undefined ? [] : [args.address].flat();
  listenAddresses(addresses); // checked now, before any cluster access
  return { specs, addresses };
}
