// The sync Secret mark live start puts on the dev pod template, and the rewrite made again
// from the original (end's drift check, revert detection) carrying it.
import { describe, expect, it } from 'vitest';
import { enterWorkload, remade, syncSecretMarkOf, withSyncSecretMark } from '../../../src/core/enter.ts';
import { WORKLOAD_KINDS } from '../../../src/core/kinds.ts';
import { SYNC_SECRET_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';

const kind = (name: string) => WORKLOAD_KINDS.find((k) => k.kind === name)!;
const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'node:24' }] } };
const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'team' }, spec: { selector: { matchLabels: { app: 'web' } }, template } };
const daemonSet: KubeObject = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'web', namespace: 'team' }, spec: { selector: { matchLabels: { app: 'web' } }, template } };

describe('the sync Secret mark', () => {
  it('goes on the template of the object that makes the dev pod: the workload, or what dev mode generated for it', () => {
    const [dev] = withSyncSecretMark(enterWorkload(deployment, kind('Deployment'), {}) as [KubeObject], kind('Deployment'), 'aaaa');
    expect((dev.spec as any).template.metadata.annotations[SYNC_SECRET_ANNOTATION]).toBe('aaaa');
    const [paused, generated] = withSyncSecretMark(enterWorkload(daemonSet, kind('DaemonSet'), {}) as [KubeObject, KubeObject], kind('DaemonSet'), 'bbbb');
    expect((generated!.spec as any).template.metadata.annotations[SYNC_SECRET_ANNOTATION]).toBe('bbbb');
    expect(syncSecretMarkOf(paused, kind('DaemonSet'))).toBeUndefined();
  });

  it("is kept when dev mode's rewrite is made again from the original, so that it is no edit", () => {
    const [current] = withSyncSecretMark(enterWorkload(deployment, kind('Deployment'), {}) as [KubeObject], kind('Deployment'), 'cccc');
    expect(remade(current, deployment, kind('Deployment'), {}).spec).toEqual(current.spec);
    const unmarked = enterWorkload(deployment, kind('Deployment'), {})[0]!;
    expect(remade(unmarked, deployment, kind('Deployment'), {}).spec).toEqual(unmarked.spec);
  });
});
