// `kubectl dev env`: the dev container's environment as the kubelet resolved it, checked against
// `env` run in that container on the real node (values, ConfigMap and Secret refs, envFrom with a
// prefix, $(VAR) expansion, the downward API, resources with divisors and an unset limit).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../unit/sync/support.ts';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { STAND_IN_IMAGE, applyManifests, dev } from './live-support.ts';

const MANIFESTS = `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {LOG_LEVEL: debug, PORT: "8080", "greeting": "hello world"}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {PASSWORD: "s3cret'quoted", USER: app}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: envy}
spec:
  replicas: 2
  selector: {matchLabels: {app: envy}}
  template:
    metadata: {labels: {app: envy, tier: back}}
    spec:
      containers:
      - name: app
        image: ${STAND_IN_IMAGE}
        command: [sleep, "3600"]
        resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {memory: 64Mi}}
        volumeMounts:
        - {name: config, mountPath: /etc/app}
        - {name: creds, mountPath: /run/db, readOnly: true}
        envFrom:
        - configMapRef: {name: app-config}
          prefix: CFG_
        env:
        - {name: PLAIN, value: plain}
        - {name: URL, value: "http://localhost:$(CFG_PORT)/$(PLAIN)/$(UNDEFINED)"}
        - {name: ESCAPED, value: "$$(PLAIN)"}
        - name: LEVEL
          valueFrom: {configMapKeyRef: {name: app-config, key: LOG_LEVEL}}
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: PASSWORD}}
        - {name: DSN, value: "user:$(PASSWORD)@db"}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: NODE
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: TIER
          valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
        - name: CPU_MILLI
          valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}
        - name: MEM_MI
          valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
        - name: CPU_LIMIT
          valueFrom: {resourceFieldRef: {resource: limits.cpu}}
      volumes:
      - {name: config, configMap: {name: app-config}}
      - {name: creds, secret: {secretName: db}}
`;

describe('kubectl dev env', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let inContainer: Record<string, string>;

  beforeAll(async () => {
    ns = await createTestNamespace(testKubeConfig(), 'env');
    applyManifests(ns.name, MANIFESTS);
    const start = dev(['start', 'deploy/envy', '-n', ns.name, '--no-sync', '-q']);
    expect(start.code, start.stderr).toBe(0);
    const env = dev(['exec', 'deploy/envy', '-n', ns.name, '--', 'env']);
    expect(env.code, env.stderr).toBe(0);
    inContainer = Object.fromEntries(env.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  });
  afterAll(async () => {
    if (ns) {
      dev(['end', 'deploy/envy', '-n', ns.name, '-q']);
      await ns.remove();
    }
  });

  it('-o json: every variable it resolves is what the container has; Secrets and what uses them withheld', () => {
    const out = dev(['env', 'deploy/envy', '-n', ns.name, '-o', 'json']);
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout) as { pod: string; container: string; variables: Record<string, string>; withheld: string[]; problems: string[] };
    expect(result.container).toBe('app');
    expect(result.variables.POD_NAME).toBe(result.pod);
    expect(Object.keys(result.variables).sort()).toEqual(['CFG_LOG_LEVEL', 'CFG_PORT', 'CFG_greeting', 'CPU_LIMIT', 'CPU_MILLI', 'ESCAPED', 'LEVEL', 'MEM_MI', 'NODE', 'PLAIN', 'POD_IP', 'POD_NAME', 'TIER', 'URL']);
    for (const [name, value] of Object.entries(result.variables)) expect(value, name).toBe(inContainer[name]);
    expect(result.variables).toMatchObject({ URL: 'http://localhost:8080/plain/$(UNDEFINED)', ESCAPED: '$(PLAIN)', CPU_MILLI: '250', MEM_MI: '64', TIER: 'back' });
    expect(result.withheld.sort()).toEqual(['DSN', 'PASSWORD']);
    expect(out.stdout).not.toContain('s3cret');
    expect(result.problems).toEqual([]);
  });

  it('--secrets: the Secret values too, as the container has them', () => {
    const out = dev(['env', 'deploy/envy', '-n', ns.name, '-o', 'json', '--secrets']);
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout) as { variables: Record<string, string>; withheld: string[] };
    expect(result.withheld).toEqual([]);
    expect(result.variables.PASSWORD).toBe("s3cret'quoted");
    expect(result.variables.DSN).toBe(inContainer.DSN);
  });

  it('dotenv by default: a shell reads back the same values', () => {
    const out = dev(['env', 'deploy/envy', '-n', ns.name, '--secrets']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^# /);
    const sh = dev(['exec', 'deploy/envy', '-n', ns.name, '--', 'sh', '-c', `set -a; . /dev/stdin <<'EOF'\n${out.stdout}EOF\nprintf '%s\\n' "$URL" "$PASSWORD" "$CFG_greeting"`]);
    expect(sh.code, sh.stderr).toBe(0);
    expect(sh.stdout).toBe(`${inContainer.URL}\n${inContainer.PASSWORD}\n${inContainer.CFG_greeting}\n`);
  });

  it('--files: the ConfigMap files as the container has them; Secret files only with --secrets, owner-only', () => {
    const dir = tempDir('env-files');
    try {
      const out = dev(['env', 'deploy/envy', '-n', ns.name, '--files', dir, '-o', 'json']);
      expect(out.code, out.stderr).toBe(0);
      const cat = dev(['exec', 'deploy/envy', '-n', ns.name, '--', 'cat', '/etc/app/greeting']);
      expect(fs.readFileSync(path.join(dir, 'etc/app/greeting'), 'utf8')).toBe(cat.stdout);
      expect(fs.existsSync(path.join(dir, 'run/db/PASSWORD'))).toBe(false);
      expect(out.stderr).toContain('Secret files not written (/run/db (Secret db)); pass --secrets');
      const withSecrets = dev(['env', 'deploy/envy', '-n', ns.name, '--files', dir, '--secrets', '-o', 'json']);
      expect(withSecrets.code, withSecrets.stderr).toBe(0);
      const file = path.join(dir, 'run/db/PASSWORD');
      expect(fs.readFileSync(file, 'utf8')).toBe(dev(['exec', 'deploy/envy', '-n', ns.name, '--', 'cat', '/run/db/PASSWORD']).stdout);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(file)).mode & 0o077).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a workload not in dev mode, and a bad reference, fail clearly before anything is read', () => {
    const missing = dev(['env', 'deploy/nope', '-n', ns.name]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('deployment/nope not found');
    const bad = dev(['env', 'nope', '-n', ns.name]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not of the form KIND/NAME');
  });
});
