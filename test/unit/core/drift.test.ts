// What end counts as drift in labels and annotations, and the recorded settings as input to enter again.

import { describe, expect, it } from 'vitest';
import { changedKeys, controllerOwnedAnnotation, controllerOwnedLabel, metadataDrift, settingsInputOf, specPath } from '../../../src/core/drift.ts';
import { enterWorkload, recordedSettings } from '../../../src/core/enter.ts';
import { workloadKindByName } from '../../../src/core/kinds.ts';
import { DEV_MODE_LABEL, GENERATION_ANNOTATION, ORIGINAL_ANNOTATION, SETTINGS_ANNOTATION, SINCE_ANNOTATION } from '../../../src/core/marks.ts';
import type { DevSettingsInput } from '../../../src/core/settings.ts';

const deployment = () => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, annotations: { team: 'a' } },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx', args: ['--x'] }, { name: 'proxy', image: 'envoy' }] } },
  },
});

describe('changedKeys', () => {
  it('names added, removed and changed keys, sorted, less the ignored ones', () => {
    expect(changedKeys({ a: '1', b: '2', c: '3' }, { a: '1', b: 'x', d: '4' })).toEqual(['b', 'c', 'd']);
    expect(changedKeys(undefined, null)).toEqual([]);
    expect(changedKeys(null, { a: '1' })).toEqual(['a']);
    expect(changedKeys({ a: '1' }, { a: '2', z: '1' }, (k) => k === 'z')).toEqual(['a']);
  });
});

describe('metadataDrift', () => {
  it('counts annotation edits, not dev mode marks or controller-owned annotations', () => {
    const original = { labels: { app: 'web' }, annotations: { team: 'a' } };
    const current = {
      labels: { app: 'web', [DEV_MODE_LABEL]: 'true' },
      annotations: {
        team: 'a', [ORIGINAL_ANNOTATION]: '{}', [SETTINGS_ANNOTATION]: '{}', [SINCE_ANNOTATION]: 'now', [GENERATION_ANNOTATION]: '3',
        'deployment.kubernetes.io/revision': '4', 'deprecated.daemonset.template.generation': '2', 'meta.helm.sh/release-name': 'web',
      },
    };
    expect(metadataDrift(original, current)).toEqual({ labels: [], annotations: [] });
    expect(metadataDrift(original, { ...current, annotations: { ...current.annotations, team: 'b', owner: 'me' } }).annotations).toEqual(['owner', 'team']);
    const { team: _, ...removed } = current.annotations;
    expect(metadataDrift(original, { ...current, annotations: removed }).annotations).toEqual(['team']);
    expect(metadataDrift(original, { ...current, labels: { [DEV_MODE_LABEL]: 'true' } }).labels).toEqual(['app']);
  });

  it('does not count the label Helm adds to what it installs (app.kubernetes.io/managed-by: Helm), but other values', () => {
    const original = { labels: { app: 'web' } };
    expect(metadataDrift(original, { labels: { app: 'web', 'app.kubernetes.io/managed-by': 'Helm' } }).labels).toEqual([]);
    expect(metadataDrift(original, { labels: { app: 'web', 'app.kubernetes.io/managed-by': 'me' } }).labels).toEqual(['app.kubernetes.io/managed-by']);
    expect(controllerOwnedLabel('app.kubernetes.io/managed-by', 'Helm')).toBe(true);
  });

  it('counts a changed last-applied-configuration (a kubectl apply in dev mode)', () => {
    expect(controllerOwnedAnnotation('kubectl.kubernetes.io/last-applied-configuration')).toBe(false);
    const key = 'kubectl.kubernetes.io/last-applied-configuration';
    expect(metadataDrift({ annotations: { [key]: '{"a":1}' } }, { annotations: { [key]: '{"a":2}' } }).annotations).toEqual([key]);
  });

  it('counts the opt-in annotation of render like any other (only the marks dev mode writes are ignored)', () => {
    expect(metadataDrift({ annotations: { 'dev.kubectl-dev.io/enabled': 'true' } }, { annotations: {} }).annotations).toEqual(['dev.kubectl-dev.io/enabled']);
  });
});

describe('settingsInputOf', () => {
  const kind = workloadKindByName('deployment')!;
  it.each<[string, DevSettingsInput]>([
    ['defaults', {}],
    ['every setting', { container: 'proxy', image: 'busybox:1.36', command: ['sleep', 'inf'], workdir: '/src', keepSecurityContext: true, sidecarImage: 'syncthing:x', env: [{ name: 'A', value: '1' }], resources: { limits: { cpu: '1' } } }],
    ['a renamed container', { container: 'app', renameContainer: 'dev' }],
  ])('gives the same rewrite again from what was recorded (%s)', (_, input) => {
    const [made] = enterWorkload(deployment(), kind, { container: 'app', ...input });
    const again = enterWorkload(deployment(), kind, settingsInputOf(recordedSettings(made!)!))[0];
    expect(again).toEqual(made);
  });
});

describe('specPath', () => {
  it('turns a JSON pointer into a dotted path under spec', () => {
    expect(specPath('/template/spec/containers/0/env')).toBe('spec.template.spec.containers.0.env');
  });
});
