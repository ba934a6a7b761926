// -p/--forward, -R/--reverse and --address (start, sync, run), with the dev config's `forward:` and `reverse:` as defaults (src/config/resolve.ts).

import type { DevConfig } from '../config/devconfig.ts';
import { listenAddresses, parseForwardSpecs, parseReverseSpecs, type ForwardSpec, type ReverseSpec } from '../config/forward-spec.ts';
import type { Resolved } from '../config/resolve.ts';
import { repeatable, type OptionSpec, type OptionsOf } from './command.ts';

export const FORWARD_OPTIONS = {
  forward: { alias: 'p', type: 'string', coerce: repeatable, describe: 'Forward a local port to the dev pod: LOCAL:REMOTE, :REMOTE (a free local port) or PORT (repeatable; default: the dev config\'s forward)', field: 'forward' },
  reverse: { alias: 'R', type: 'string', coerce: repeatable, describe: 'Reverse forward: the dev pod\'s 127.0.0.1:REMOTE reaches this machine\'s 127.0.0.1:LOCAL, as REMOTE:LOCAL or PORT (repeatable; default: the dev config\'s reverse)', field: 'reverse' },
  address: { type: 'string', coerce: repeatable, describe: 'Local addresses the forwards listen on, as kubectl port-forward: IPs or localhost (comma separated; default 127.0.0.1)' },
} as const satisfies Record<string, OptionSpec>;

export type ForwardArgs = OptionsOf<typeof FORWARD_OPTIONS>;

export interface Forwards {
  specs: ForwardSpec[];
  addresses: string[];
  /** -R/--reverse (or the dev config's reverse). */
  reverse: ReverseSpec[];
}

/** The resolved forwards, parsed and named by where they came from; the addresses checked too. */
export function forwardsFrom(resolved: Resolved, config: DevConfig | undefined, args: ForwardArgs): Forwards {
  const from = resolved.forward;
  const specs = !from ? [] : parseForwardSpecs(from.specs, from.from === 'flag' ? '--forward' : `forward in ${config?.source ?? 'the dev config'}`);
  const addresses = args.address ?? [];
  listenAddresses(addresses); // checked now, before any cluster access
  const back = resolved.reverse;
  const reverse = !back ? [] : parseReverseSpecs(back.specs, back.from === 'flag' ? '--reverse' : `reverse in ${config?.source ?? 'the dev config'}`);
  return { specs, addresses, reverse };
}
