// --cpu / --memory: quantities read as Kubernetes writes them, set over the dev container's
// resources (its other resources kept), recorded, and gone again after exit.

import { describe, expect, it } from 'vitest';
import { enter } from '../../../src/core/enter.ts';
import { DevError } from '../../../src/core/errors.ts';
import { exit } from '../../../src/core/exit.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { parseRequestAndLimit, quantityValue, withOverrides } from '../../../src/core/resources.ts';

const deployment = (resources?: Record<string, unknown>): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas: 3, selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [
      { name: 'web', image: 'node:24', ...(resources ? { resources } : {}) },
      { name: 'proxy', image: 'envoy:1', resources: { limits: { cpu: '100m' } } },
    ] } },
  },
});
const containers = (out: KubeObject[]) => (out[0] as any).spec.template.spec.containers as Array<{ name: string; resources?: unknown }>;

describe('quantities', () => {
  it('reads the forms the API server writes, in order', () => {
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('2')).toBe(2);
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('1G')).toBe(1e9);
    expect(quantityValue('1.5Mi')).toBe(1.5 * 2 ** 20);
    expect(quantityValue('1e3')).toBe(1000);
    expect((quantityValue('1Gi') as number) > (quantityValue('1000M') as number)).toBe(true);
    for (const bad of ['', 'two', '1GB', '1 Gi', 'Gi', '1.2.3', '--1']) expect(quantityValue(bad), bad).toBeUndefined();
  });

  it('one quantity is request and limit; REQUEST:LIMIT gives both', () => {
    expect(parseRequestAndLimit('cpu', '2')).toEqual({ request: '2', limit: '2' });
    expect(parseRequestAndLimit('memory', '1Gi:4Gi')).toEqual({ request: '1Gi', limit: '4Gi' });
    expect(parseRequestAndLimit('cpu', '500m:2')).toEqual({ request: '500m', limit: '2' });
  });

  it('refuses what the API server would, naming the flag and every problem', () => {
    const refused = (resource: 'cpu' | 'memory', text: string) => {
      try {
        parseRequestAndLimit(resource, text);
      } catch (error) {
        expect(error).toBeInstanceOf(DevError);
        expect((error as DevError).code).toBe('INVALID_OPTION');
        expect((error as DevError).hint).toContain(`--${resource}`);
        return (error as DevError).message;
      }
      throw new Error(`--${resource} ${text} was accepted`);
    };
    expect(refused('memory', '4Gi:1Gi')).toBe('--memory 4Gi:1Gi: the request 4Gi is more than the limit 1Gi');
    expect(refused('cpu', 'lots')).toBe('--cpu lots: "lots" is not a Kubernetes quantity');
    expect(refused('cpu', '0')).toBe('--cpu 0: "0" must be more than zero');
    expect(refused('cpu', '1:2:3')).toContain('more than one ":"');
    expect(refused('memory', 'x:y')).toBe('--memory x:y: "x" is not a Kubernetes quantity; "y" is not a Kubernetes quantity');
  });

  it('sets cpu and memory over the resources, keeping the others', () => {
    const base = { requests: { cpu: '100m', 'ephemeral-storage': '1Gi' }, limits: { memory: '128Mi', 'nvidia.com/gpu': '1' } };
    const out = withOverrides(base, { memory: { request: '1Gi', limit: '2Gi' } });
    expect(out).toEqual({ requests: { cpu: '100m', 'ephemeral-storage': '1Gi', memory: '1Gi' }, limits: { memory: '2Gi', 'nvidia.com/gpu': '1' } });
    expect(base.limits.memory).toBe('128Mi');
    expect(withOverrides(undefined, { cpu: { request: '1', limit: '1' } })).toEqual({ requests: { cpu: '1' }, limits: { cpu: '1' } });
  });
});

describe('enter with --cpu and --memory', () => {
  const targets = undefined;
  it('sets them on the dev container only, records them, and exit gives the original back', () => {
    const input = [deployment({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '64Mi' } })];
    const out = enter(input, { targets, settings: { container: 'web', cpu: { request: '1', limit: '2' }, memory: { request: '2Gi', limit: '2Gi' } } });
    const [web, proxy] = containers(out);
    expect(web!.resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(proxy!.resources).toEqual({ limits: { cpu: '100m' } });
    const settings = JSON.parse(out[0]!.metadata!.annotations!['dev.kubectl-dev.io/settings']!);
    expect(settings).toMatchObject({ cpu: { request: '1', limit: '2' }, memory: { request: '2Gi', limit: '2Gi' } });
    expect(exit(out)).toEqual(input);
    expect(enter(out, { targets, settings: { container: 'web', cpu: { request: '1', limit: '2' }, memory: { request: '2Gi', limit: '2Gi' } } })).toEqual(out);
  });

  it('go over the dev config\'s resources, which replace the container\'s', () => {
    const out = enter([deployment({ limits: { cpu: '4' } })], { targets, settings: { container: 'web', resources: { requests: { 'ephemeral-storage': '2Gi' } }, memory: { request: '1Gi', limit: '1Gi' } } });
    expect(containers(out)[0]!.resources).toEqual({ requests: { 'ephemeral-storage': '2Gi', memory: '1Gi' }, limits: { memory: '1Gi' } });
  });

  it('a container without resources gets exactly the ones given', () => {
    const out = enter([deployment()], { targets, settings: { container: 'web', cpu: { request: '250m', limit: '250m' } } });
    expect(containers(out)[0]!.resources).toEqual({ requests: { cpu: '250m' }, limits: { cpu: '250m' } });
    expect(exit(out)).toEqual([deployment()]);
  });

  it('settings given as data (a dev config, a KRM functionConfig) are checked too', () => {
    expect(() => enter([deployment()], { targets, settings: { container: 'web', cpu: { request: '2', limit: '1' } } })).toThrow(/cpu needs a request and a limit/);
  });
});
