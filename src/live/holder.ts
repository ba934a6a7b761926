// Who runs this command, for the dev-mode holder: the user as the API server authenticates them
// and this machine's host name (LiveDeps.host, read at the CLI edge).

import { DevError } from '../core/errors.ts';
import type { Holder } from '../core/holder.ts';
import type { LiveDeps } from './deps.ts';

/** The holder this command would record; a server that cannot say who the user is (no SelfSubjectReview) leaves the user unknown. */
export async function whoAmI(deps: Pick<LiveDeps, 'api' | 'host'>): Promise<Holder> {
  const host = deps.host ? { host: deps.host } : {};
  try {
    const { username } = await deps.api.whoAmI();
    return username ? { user: username, ...host } : host;
  } catch (error) {
    if (error instanceof DevError && ['FORBIDDEN', 'NOT_FOUND'].includes(error.code)) return host;
    throw error;
  }
}
