// The dev container's environment as the kubelet resolves it (the e2e test compares it with
// `env` run in the container).

import { describe, expect, it } from 'vitest';
import { dotenvLine, expand, resolveEnv, type EnvInput } from '../../../src/core/env.ts';
import type { KubeObject } from '../../../src/core/objects.ts';

const pod = (container: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'web-7d4-abc', namespace: 'shop', uid: 'u-1', labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' }, annotations: { team: 'a' } },
  spec: { nodeName: 'node-1', serviceAccountName: 'web', containers: [{ name: 'web', image: 'node:24', ...container }, { name: 'side', image: 'x', resources: { limits: { memory: '64Mi' } } }] },
  status: { podIP: '10.0.0.7', podIPs: [{ ip: '10.0.0.7' }, { ip: 'fd00::7' }], hostIP: '192.168.1.2', hostIPs: [{ ip: '192.168.1.2' }] },
});
const input = (container: Record<string, unknown>, extra: Partial<EnvInput> = {}): EnvInput => ({
  pod: pod(container), container: 'web',
  configMaps: { 'app-config': { LOG_LEVEL: 'debug', PORT: '8080' } },
  secrets: { 'db': { PASSWORD: 's3cret', USER: 'app' } },
  withSecrets: false, ...extra,
});
const values = (r: ReturnType<typeof resolveEnv>) => Object.fromEntries(r.vars.map((v) => [v.name, v.value]));

describe('expand', () => {
  it('replaces $(NAME) with what is defined, keeps the rest as written, $$ escapes', () => {
    const env: Record<string, string> = { A: 'x', B: 'y' };
    expect(expand('$(A)-$(B)', (n) => env[n])).toBe('x-y');
    expect(expand('$(C) stays', (n) => env[n])).toBe('$(C) stays');
    expect(expand('$$(A) is literal, $$ is one', (n) => env[n])).toBe('$(A) is literal, $ is one');
    expect(expand('$A and $ and $(unclosed', (n) => env[n])).toBe('$A and $ and $(unclosed');
    expect(expand('end$', (n) => env[n])).toBe('end$');
  });
});

describe('resolveEnv', () => {
  it('envFrom, then env in order with $(VAR) against what came before; a later name replaces an earlier one', () => {
    const r = resolveEnv(input({
      envFrom: [{ configMapRef: { name: 'app-config' } }, { configMapRef: { name: 'app-config' }, prefix: 'CFG_' }],
      env: [
        { name: 'URL', value: 'http://localhost:$(PORT)/$(LATER)' },
        { name: 'LATER', value: 'v1' },
        { name: 'PORT', value: '9090' },
        { name: 'ESCAPED', value: '$$(PORT)' },
      ],
    }));
    expect(values(r)).toEqual({ LOG_LEVEL: 'debug', CFG_LOG_LEVEL: 'debug', CFG_PORT: '8080', URL: 'http://localhost:8080/$(LATER)', LATER: 'v1', PORT: '9090', ESCAPED: '$(PORT)' });
    expect(r.problems).toEqual([]);
    expect(r.vars.find((v) => v.name === 'CFG_PORT')).toMatchObject({ source: 'configMap', from: 'configmap/app-config (envFrom)' });
  });

  it('fields of the pod, as the downward API gives them', () => {
    const fields = ['metadata.name', 'metadata.namespace', 'metadata.uid', "metadata.labels['app']", "metadata.annotations['team']", "metadata.labels['none']",
      'spec.nodeName', 'spec.serviceAccountName', 'status.podIP', 'status.podIPs', 'status.hostIP', 'status.hostIPs'];
    const r = resolveEnv(input({ env: fields.map((f, i) => ({ name: `F${i}`, valueFrom: { fieldRef: { fieldPath: f } } })) }));
    expect(r.vars.map((v) => v.value)).toEqual(['web-7d4-abc', 'shop', 'u-1', 'web', 'a', '', 'node-1', 'web', '10.0.0.7', '10.0.0.7,fd00::7', '192.168.1.2', '192.168.1.2']);
    expect(resolveEnv(input({ env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }] })).problems).toEqual(['X: fieldRef spec.hostname is not a field the kubelet provides']);
  });

  it('resources: CPU rounded up to whole divisors, memory in bytes / divisor, an unset limit from the node', () => {
    const r = resolveEnv(input({
      resources: { requests: { cpu: '250m', memory: '100Mi' }, limits: { cpu: '1500m' } },
      env: [
        { name: 'CPU_REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        { name: 'CPU_LIM', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '0' } } },
        { name: 'CPU_LIM_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'MEM_REQ_MI', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi' } } },
        { name: 'MEM_LIM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
        { name: 'SIDE_MEM', valueFrom: { resourceFieldRef: { containerName: 'side', resource: 'limits.memory', divisor: '1Mi' } } },
      ],
    }, { nodeAllocatable: { cpu: '2', memory: '8Gi' } }));
    expect(values(r)).toEqual({ CPU_REQ: '1', CPU_LIM: '2', CPU_LIM_M: '1500', MEM_REQ_MI: '100', MEM_LIM: String(8 * 2 ** 30), SIDE_MEM: '64' });
    const unknown = resolveEnv(input({ env: [{ name: 'M', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } }] }));
    expect(unknown.problems[0]).toContain("the node's allocatable resources were not read");
  });

  it('Secrets are withheld unless asked for, and so is a value that uses one', () => {
    const container = {
      envFrom: [{ secretRef: { name: 'db' }, prefix: 'DB_' }],
      env: [
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } },
        { name: 'DSN', value: 'postgres://app:$(PASSWORD)@db' },
        { name: 'PLAIN', value: 'p' },
      ],
    };
    const hidden = resolveEnv(input(container));
    expect(hidden.vars.map((v) => [v.name, v.value, v.secret])).toEqual([['PASSWORD', undefined, true], ['DSN', undefined, true], ['PLAIN', 'p', undefined]]);
    expect(hidden.problems).toEqual(['the variables of secret/db (envFrom) are not listed: pass --secrets to read them']);
    const shown = resolveEnv(input(container, { withSecrets: true }));
    expect(values(shown)).toEqual({ DB_PASSWORD: 's3cret', DB_USER: 'app', PASSWORD: 's3cret', DSN: 'postgres://app:s3cret@db', PLAIN: 'p' });
  });

  it('a missing required ConfigMap or key is a problem; an optional one is left out', () => {
    const r = resolveEnv(input({
      envFrom: [{ configMapRef: { name: 'gone', optional: true } }, { configMapRef: { name: 'gone-too' } }],
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'NOPE', optional: true } } },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'NOPE' } } },
      ],
    }));
    expect(r.vars).toEqual([]);
    expect(r.problems).toEqual(['ConfigMap gone-too not found', 'ConfigMap app-config key NOPE not found']);
  });

  it('names the container it does not find', () => {
    expect(resolveEnv({ ...input({}), container: 'nope' }).problems).toEqual(['the pod has no container named nope']);
  });
});

describe('dotenvLine', () => {
  it('quotes so that dotenv readers and sh read the value back', () => {
    expect(dotenvLine('A', 'plain value $HOME')).toBe("A='plain value $HOME'");
    expect(dotenvLine('B', "it's\nmulti")).toBe('B="it\'s\\nmulti"');
    expect(dotenvLine('C', 'a"b\\c$d`e\'')).toBe('C="a\\"b\\\\c\\$d\\`e\'"');
  });
});
