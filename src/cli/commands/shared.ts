import { DevError } from '../../core/errors.ts';

export function liveModeNotYet(command: string): never {
  throw new DevError('NOT_IMPLEMENTED', `live "${command}" against a cluster is not available in this build`,
    `use --local with -f to rewrite manifests offline, e.g. kubectl dev ${command} --local -f app.yaml`);
}
