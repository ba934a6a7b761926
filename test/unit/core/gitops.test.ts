// Which GitOps tool manages a workload, from its marks; and the Argo CD Application's pause and resume, exact both ways.
import { describe, expect, it } from 'vitest';
import {
  automatedSyncOf, describeManager, fluxSwitches, gitopsManagers, parseGitOpsRecord, parsePausedSync, pausedApplication, resumedApplication, trackingIdApplication,
} from '../../../src/core/gitops.ts';
import { describeHolder, holderAnnotation, isOtherUser, parseHolder } from '../../../src/core/holder.ts';
import { PAUSED_SYNC_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';

const workload = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels, annotations, ...extra }, spec: {},
});

describe('gitopsManagers', () => {
  it('finds nothing on a plain workload, or on Helm\'s own labels', () => {
    expect(gitopsManagers(workload({ app: 'web' }))).toEqual([]);
    expect(gitopsManagers(workload({ 'app.kubernetes.io/managed-by': 'Helm' }, { 'meta.helm.sh/release-name': 'web' }))).toEqual([]);
  });

  it('reads kustomize-controller\'s and helm-controller\'s labels', () => {
    const found = gitopsManagers(workload({
      'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'shop',
    }));
    expect(found).toEqual([
      { tool: 'flux', controller: 'kustomize', name: 'apps', namespace: 'flux-system' },
      { tool: 'flux', controller: 'helm', name: 'web', namespace: 'shop' },
    ]);
    expect(found.map(describeManager)).toEqual(['Flux Kustomization flux-system/apps', 'Flux HelmRelease shop/web']);
    expect(fluxSwitches(found)).toEqual({ 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled', 'helm.toolkit.fluxcd.io/driftDetection': 'disabled' });
  });

  it('reads Argo CD\'s tracking id (its own mark: certain), namespace-qualified or not', () => {
    expect(gitopsManagers(workload({}, { 'argocd.argoproj.io/tracking-id': 'shop-app:apps/Deployment:shop/web' }))).toEqual([
      { tool: 'argocd', application: 'shop-app', evidence: 'tracking-id' },
    ]);
    expect(gitopsManagers(workload({}, { 'argocd.argoproj.io/tracking-id': 'team_shop-app:apps/Deployment:shop/web' }))).toEqual([
      { tool: 'argocd', application: 'shop-app', applicationNamespace: 'team', evidence: 'tracking-id' },
    ]);
    expect(trackingIdApplication('not a tracking id')).toBeUndefined();
  });

  it('the tracking id wins over the instance label; an owner Application counts; the label alone is only a candidate', () => {
    const both = workload({ 'app.kubernetes.io/instance': 'other' }, { 'argocd.argoproj.io/tracking-id': 'shop-app:apps/Deployment:shop/web' });
    expect(gitopsManagers(both)).toEqual([{ tool: 'argocd', application: 'shop-app', evidence: 'tracking-id' }]);
    const owned = workload({}, {}, { ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', name: 'shop-app', uid: 'u' }] });
    expect(gitopsManagers(owned)).toEqual([{ tool: 'argocd', application: 'shop-app', applicationNamespace: 'shop', evidence: 'owner' }]);
    const notArgo = workload({}, {}, { ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Application', name: 'x', uid: 'u' }] });
    expect(gitopsManagers(notArgo)).toEqual([]);
    expect(gitopsManagers(workload({ 'app.kubernetes.io/instance': 'web' }))).toEqual([{ tool: 'argocd', application: 'web', evidence: 'instance-label' }]);
  });
});

describe('pausedApplication / resumedApplication', () => {
  const automated = { prune: true, selfHeal: true };
  const app = (spec: Record<string, unknown>, annotations?: Record<string, string>): KubeObject => ({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application',
    metadata: { name: 'shop-app', namespace: 'argocd', resourceVersion: '5', ...(annotations ? { annotations } : {}) },
    spec: { project: 'default', ...spec },
  });

  it('takes automated away with the exact policy saved, and the last resume puts it back exactly', () => {
    const before = app({ syncPolicy: { automated, syncOptions: ['CreateNamespace=true'] } });
    const paused = pausedApplication(before, 'shop/deployment.web')!;
    expect(automatedSyncOf(paused)).toBeUndefined();
    expect((paused.spec as any).syncPolicy).toEqual({ syncOptions: ['CreateNamespace=true'] });
    expect(parsePausedSync(paused.metadata?.annotations?.[PAUSED_SYNC_ANNOTATION])).toEqual({ automated, for: ['shop/deployment.web'] });
    const resumed = resumedApplication(paused, 'shop/deployment.web')!;
    expect(resumed).toEqual(before);
  });

  it('two workloads of one Application: the first end keeps it paused, the second resumes', () => {
    const before = app({ syncPolicy: { automated } }, { team: 'a' });
    const one = pausedApplication(before, 'shop/deployment.web')!;
    const two = pausedApplication(one, 'shop/deployment.api')!;
    expect(parsePausedSync(two.metadata?.annotations?.[PAUSED_SYNC_ANNOTATION])?.for).toEqual(['shop/deployment.web', 'shop/deployment.api']);
    expect(pausedApplication(two, 'shop/deployment.api')).toBeUndefined();
    const afterWeb = resumedApplication(two, 'shop/deployment.web')!;
    expect(automatedSyncOf(afterWeb)).toBeUndefined();
    expect(resumedApplication(afterWeb, 'shop/deployment.web')).toBeUndefined();
    expect(resumedApplication(afterWeb, 'shop/deployment.api')).toEqual(before);
  });

  it('nothing to pause without automated sync; someone who turned it on again meanwhile keeps theirs', () => {
    expect(pausedApplication(app({}), 'shop/deployment.web')).toBeUndefined();
    const paused = pausedApplication(app({ syncPolicy: { automated } }), 'shop/deployment.web')!;
    const theirs = structuredClone(paused);
    (theirs.spec as any).syncPolicy.automated = { selfHeal: false };
    expect(automatedSyncOf(resumedApplication(theirs, 'shop/deployment.web')!)).toEqual({ selfHeal: false });
  });
});

describe('records', () => {
  it('the GitOps record and the holder read back what was written; garbage reads as nothing', () => {
    const record = { managedBy: ['Flux Kustomization flux-system/apps'], switches: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' }, paused: { namespace: 'argocd', name: 'shop' } };
    expect(parseGitOpsRecord(JSON.stringify(record))).toEqual(record);
    expect(parseGitOpsRecord('{')).toBeUndefined();
    expect(parseHolder(holderAnnotation({ user: 'alice@example.com', host: 'laptop-7' }))).toEqual({ user: 'alice@example.com', host: 'laptop-7' });
    expect(parseHolder('[1]')).toBeUndefined();
    expect(describeHolder({ user: 'alice', host: 'laptop-7' })).toBe('alice on laptop-7');
  });

  it('another user is only someone known to differ', () => {
    expect(isOtherUser({ user: 'alice', host: 'a' }, { user: 'bob', host: 'a' })).toBe(true);
    expect(isOtherUser({ user: 'alice', host: 'a' }, { user: 'alice', host: 'b' })).toBe(false);
    expect(isOtherUser({ host: 'a' }, { user: 'bob' })).toBe(false);
    expect(isOtherUser({ user: 'alice' }, {})).toBe(false);
  });
});
