// CPU and memory for the dev container (`--cpu`, `--memory`): Kubernetes quantities, a request
// and a limit each, set over whatever resources the container has (its own, or the dev
// config's `resources`), the container's other resources kept. Pure.

import { DevError } from './errors.ts';
import { isPlainObject } from './objects.ts';

export interface RequestAndLimit {
  request: string;
  limit: string;
}

/** The resources `--cpu` and `--memory` set. */
export type ResourceOverrides = Partial<Record<'cpu' | 'memory', RequestAndLimit>>;

// resource.Quantity's serialised form: a signed decimal, then a binary or decimal SI suffix or an exponent.
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;
const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity's value as a number (close enough to order two quantities), or undefined when it is not one. */
export function quantityValue(text: string): number | undefined {
  if (!QUANTITY.test(text)) return undefined;
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(.*)$/.exec(text) as RegExpExecArray;
  const [, number, suffix] = match as unknown as [string, string, string];
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  return scale === undefined ? undefined : Number(number) * scale;
}

const EXAMPLES: Readonly<Record<'cpu' | 'memory', string>> = { cpu: '--cpu 2 or --cpu 500m:2', memory: '--memory 2Gi or --memory 1Gi:4Gi' };

/** `QUANTITY` (request = limit) or `REQUEST:LIMIT`; every problem in one error. */
export function parseRequestAndLimit(resource: 'cpu' | 'memory', text: string): RequestAndLimit {
  const parts = text.split(':');
  const problems: string[] = [];
  if (parts.length > 2) problems.push(`"${text}" has more than one ":"`);
  const [request = '', limit = request] = parts;
  for (const q of new Set([request, limit])) {
    const value = quantityValue(q);
    if (value === undefined) problems.push(`"${q}" is not a Kubernetes quantity`);
    else if (value <= 0) problems.push(`"${q}" must be more than zero`);
  }
  if (problems.length === 0 && (quantityValue(request) as number) > (quantityValue(limit) as number)) {
    problems.push(`the request ${request} is more than the limit ${limit}`);
  }
  if (problems.length > 0) {
    throw new DevError('INVALID_OPTION', `--${resource} ${text}: ${problems.join('; ')}`,
      `give one quantity (request and limit alike) or REQUEST:LIMIT with the request not above the limit, e.g. ${EXAMPLES[resource]}.`);
  }
  return { request, limit };
}

/** The container's resources with the overrides set: requests and limits of cpu/memory replaced, the rest kept. */
export function withOverrides(resources: unknown, overrides: ResourceOverrides): Record<string, unknown> {
  const out: Record<string, unknown> = isPlainObject(resources) ? structuredClone(resources) : {};
  const section = (key: 'requests' | 'limits'): Record<string, unknown> => {
    if (!isPlainObject(out[key])) out[key] = {};
    return out[key] as Record<string, unknown>;
  };
  for (const name of ['cpu', 'memory'] as const) {
    const given = overrides[name];
    if (given === undefined) continue;
    section('requests')[name] = given.request;
    section('limits')[name] = given.limit;
  }
  return out;
}
