// kustomize's pending renames applied to a workload's references before the rewrite.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/core/objects.ts';
import { applyPendingRenames, pendingRenames } from '../../../src/render/kustomize-names.ts';

const renamed = (kind: string, name: string, previous: string, previousKinds = kind): KubeObject => ({
  apiVersion: 'v1', kind, metadata: { name, annotations: { 'internal.config.kubernetes.io/previousNames': previous, 'internal.config.kubernetes.io/previousKinds': previousKinds } },
});

const workload: KubeObject = {
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'dev-db' },
  spec: {
    serviceName: 'db',
    template: {
      spec: {
        serviceAccountName: 'db', imagePullSecrets: [{ name: 'pull' }],
        volumes: [{ name: 'a', configMap: { name: 'cfg' } }, { name: 'b', secret: { secretName: 'sec' } }, { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'd', projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 'sec' } }] } }],
        initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'sec' } }] }],
        containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }, { name: 'B', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } }, { name: 'C', value: 'cfg' }] }],
      },
    },
  },
};

describe('kustomize pending renames', () => {
  const renames = pendingRenames([
    renamed('ServiceAccount', 'dev-db', 'db'), renamed('ConfigMap', 'dev-cfg-5h2k', 'cfg,dev-cfg'), renamed('Secret', 'dev-sec', 'sec'),
    renamed('Secret', 'dev-pull', 'pull'), renamed('PersistentVolumeClaim', 'dev-data', 'data'), renamed('Service', 'dev-db', 'db'),
    renamed('ConfigMap', 'x', 'y', 'Secret'), // a kind change: not a rename of this kind
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'same', annotations: { 'internal.config.kubernetes.io/previousNames': 'same' } } },
  ]);

  it('reads renames per kind from the previous-names annotations', () => {
    expect(renames.get('ConfigMap')).toEqual(new Map([['cfg', 'dev-cfg-5h2k'], ['dev-cfg', 'dev-cfg-5h2k']]));
    expect(renames.get('Secret')).toEqual(new Map([['sec', 'dev-sec'], ['pull', 'dev-pull']]));
  });

  it('renames every pod reference kustomize renames, and nothing else', () => {
    const out = applyPendingRenames(workload, renames);
    const text = JSON.stringify(out);
    expect(text.replace('{"name":"C","value":"cfg"}', '')).not.toMatch(/"(cfg|sec|pull|data)"/);
    expect(out.spec).toMatchObject({ serviceName: 'dev-db', template: { spec: { serviceAccountName: 'dev-db' } } });
    // A plain env value is not a reference.
    expect(text).toContain('{"name":"C","value":"cfg"}');
    expect(workload.spec).toMatchObject({ serviceName: 'db' }); // the input is not modified
  });

  it('returns the object itself when nothing applies', () => {
    expect(applyPendingRenames(workload, new Map())).toBe(workload);
    expect(applyPendingRenames(workload, pendingRenames([renamed('ConfigMap', 'b', 'a')]))).toBe(workload);
  });
});
