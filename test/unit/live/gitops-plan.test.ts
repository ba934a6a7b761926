// Start and end plans of workloads a GitOps tool manages, and of workloads someone else holds: plain objects, no cluster.
import { applyPatch } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { formatChanges } from '../../../src/cli/dry-run.ts';
import { DevError } from '../../../src/core/errors.ts';
import { parseGitOpsRecord, parsePausedSync } from '../../../src/core/gitops.ts';
import { WORKLOAD_KINDS } from '../../../src/core/kinds.ts';
import { GITOPS_ANNOTATION, HOLDER_ANNOTATION, PAUSED_SYNC_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { planEnd } from '../../../src/live/end-plan.ts';
import { exitWorkload } from '../../../src/core/exit.ts';
import type { GitOpsState } from '../../../src/live/gitops.ts';
import type { PatchStep, PlanStep } from '../../../src/live/plan.ts';
import { planStart, type StartRequest, type StartState } from '../../../src/live/start-plan.ts';

const NS = 'shop';
const NOW = '2026-12-01T12:00:00.000Z';
const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;
const ALICE = { user: 'alice', host: 'laptop-a' };
const BOB = { user: 'bob', host: 'laptop-b' };

function workload(labels: Record<string, string> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: NS, uid: 'u1', resourceVersion: '7', generation: 2, labels: { app: 'web', ...labels }, ...(annotations ? { annotations } : {}) },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
  };
}

const application = (automated: unknown = { selfHeal: true }, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'argoproj.io/v1alpha1', kind: 'Application',
  metadata: { name: 'shop-app', namespace: 'argocd', resourceVersion: '40', ...(annotations ? { annotations } : {}) },
  spec: { project: 'default', destination: { namespace: NS }, ...(automated ? { syncPolicy: { automated } } : {}) },
});

const request = (more: Partial<StartRequest> = {}): StartRequest => ({ ref: { kind: deployment, name: 'web', namespace: NS }, settings: {}, timeoutMs: 60_000, ...more });
const stateOf = (w: KubeObject, more: Partial<StartState> = {}): StartState => ({
  now: NOW, secret: { made: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-deployment-dev-sync', namespace: NS }, data: {} } }, hpas: [], generated: {}, workload: w, me: ALICE, ...more,
});
const labels = (steps: readonly PlanStep[]) => steps.map((s) => s.label);
const patched = (w: KubeObject, step: PlanStep): any => applyPatch(structuredClone(w), (step as PatchStep).operations, false, false).newDocument;
const workloadPatch = (steps: readonly PlanStep[]) => steps.find((s) => s.label === 'patch the workload')!;
const refusalOf = (fn: () => unknown): DevError => {
  try {
    fn();
  } catch (error) {
    return error as DevError;
  }
  throw new Error('no refusal');
};

describe('start of a Flux workload', () => {
  const flux = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
  const gitops = (_w: KubeObject): GitOpsState => ({ managers: [{ tool: 'flux', controller: 'kustomize', name: 'apps', namespace: 'flux-system' }] });

  it('sets the reconcile switch in the workload patch, says so, and end restores the exact previous value', () => {
    for (const before of [undefined, { 'kustomize.toolkit.fluxcd.io/reconcile': 'enabled', other: 'x' }]) {
      const w = workload(flux, before);
      const plan = planStart(stateOf(w, { gitops: gitops(w) }), request());
      expect(labels(plan.steps)).toEqual(['create the sync Secret', 'patch the workload', 'wait for the dev pod to be ready']);
      const dev = patched(w, workloadPatch(plan.steps));
      expect(dev.metadata.annotations['kustomize.toolkit.fluxcd.io/reconcile']).toBe('disabled');
      expect(parseGitOpsRecord(dev.metadata.annotations[GITOPS_ANNOTATION])).toEqual({ managedBy: ['Flux Kustomization flux-system/apps'], switches: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } });
      expect(workloadPatch(plan.steps).noteBefore).toContain('Flux Kustomization flux-system/apps');
      // end: the saved original holds the annotations as they were, so the restore is exact.
      const inDev = { ...dev, metadata: { ...dev.metadata, resourceVersion: '8', generation: 3 } };
      const end = planEnd({ current: inDev, original: exitWorkload(inDev), leftovers: [], devPods: [], clampedHpas: [] }, { ref: request().ref, timeoutMs: 1000 });
      const restored = patched(inDev, end.steps[0]!);
      expect(restored.metadata.annotations).toEqual(w.metadata?.annotations);
      expect(restored.spec).toEqual(w.spec);
    }
  });

  it('--gitops=ignore leaves the switch alone and records that it was ignored', () => {
    const w = workload(flux);
    const plan = planStart(stateOf(w, { gitops: gitops(w) }), request({ gitops: 'ignore' }));
    const dev = patched(w, workloadPatch(plan.steps));
    expect(dev.metadata.annotations['kustomize.toolkit.fluxcd.io/reconcile']).toBeUndefined();
    expect(parseGitOpsRecord(dev.metadata.annotations[GITOPS_ANNOTATION])).toMatchObject({ ignored: true });
  });

  it('--dry-run prints the switch and the note', () => {
    const w = workload(flux);
    const text = formatChanges(planStart(stateOf(w, { gitops: gitops(w) }), request({ dryRun: 'client' })).steps);
    expect(text).toContain('kustomize.toolkit.fluxcd.io/reconcile');
    expect(text).toMatch(/note: deployment\/web is managed by Flux Kustomization flux-system\/apps/);
  });
});

describe('start of an Argo CD workload', () => {
  const tracked = workload({}, { 'argocd.argoproj.io/tracking-id': 'shop-app:apps/Deployment:shop/web' });
  const argoState = (app?: KubeObject, more: Partial<GitOpsState> = {}): GitOpsState => ({ managers: [{ tool: 'argocd', application: 'shop-app', evidence: 'tracking-id' }], ...(app ? { application: app } : {}), ...more });

  it('is refused without --gitops, with a hint naming the three choices', () => {
    const error = refusalOf(() => planStart(stateOf(tracked, { gitops: argoState(application()) }), request()));
    expect(error).toMatchObject({ code: 'GITOPS_MANAGED' });
    expect(error.message).toContain('Argo CD Application argocd/shop-app');
    for (const choice of ['--duplicate', '--gitops=pause', '--gitops=ignore']) expect(error.hint).toContain(choice);
    // Argo CD's own mark is enough: refused even when the Application cannot be read.
    expect(refusalOf(() => planStart(stateOf(tracked, { gitops: argoState(undefined, { unreadable: 'forbidden' }) }), request()))).toMatchObject({ code: 'GITOPS_MANAGED' });
  });

  it('the instance label alone counts only with its Application found', () => {
    const labelled = workload({ 'app.kubernetes.io/instance': 'shop-app' });
    const candidate: GitOpsState['managers'] = [{ tool: 'argocd', application: 'shop-app', evidence: 'instance-label' }];
    const helmOnly = planStart(stateOf(labelled, { gitops: { managers: candidate } }), request());
    expect(labels(helmOnly.steps)).toContain('patch the workload');
    expect(patched(labelled, workloadPatch(helmOnly.steps)).metadata.annotations[GITOPS_ANNOTATION]).toBeUndefined();
    const unsure = planStart(stateOf(labelled, { gitops: { managers: candidate, unreadable: 'forbidden: cannot list' } }), request());
    expect(workloadPatch(unsure.steps).noteBefore).toContain('Applications could not be read');
    expect(refusalOf(() => planStart(stateOf(labelled, { gitops: { managers: candidate, application: application() } }), request()))).toMatchObject({ code: 'GITOPS_MANAGED' });
  });

  it('an Application without automated sync: no refusal, a note', () => {
    const plan = planStart(stateOf(tracked, { gitops: argoState(application(null)) }), request());
    expect(workloadPatch(plan.steps).noteBefore).toContain('no automated sync');
  });

  it('--gitops=pause: the Application is patched before the workload, and end gives its policy back exactly', () => {
    const app = application({ prune: true, selfHeal: true });
    const plan = planStart(stateOf(tracked, { gitops: argoState(app) }), request({ gitops: 'pause' }));
    expect(labels(plan.steps)).toEqual(['create the sync Secret', 'pause the automated sync of Argo CD Application argocd/shop-app', 'patch the workload', 'wait for the dev pod to be ready']);
    const pause = plan.steps[1] as PatchStep;
    expect(pause.ref).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', name: 'shop-app', namespace: 'argocd' });
    expect(pause.precondition?.resourceVersion).toBe('40');
    const pausedApp = patched(app, pause);
    expect(pausedApp.spec.syncPolicy.automated).toBeUndefined();
    expect(parsePausedSync(pausedApp.metadata.annotations[PAUSED_SYNC_ANNOTATION])).toEqual({ automated: { prune: true, selfHeal: true }, for: ['shop/deployment.web'] });
    const dev = patched(tracked, workloadPatch(plan.steps));
    expect(parseGitOpsRecord(dev.metadata.annotations[GITOPS_ANNOTATION])?.paused).toEqual({ namespace: 'argocd', name: 'shop-app' });
    expect(formatChanges(plan.steps)).toContain('remove /spec/syncPolicy/automated');

    const inDev = { ...dev, metadata: { ...dev.metadata, resourceVersion: '8' } };
    const end = planEnd({ current: inDev, original: exitWorkload(inDev), leftovers: [], devPods: [], clampedHpas: [], pausedApplication: pausedApp }, { ref: request().ref, timeoutMs: 1000 });
    expect(labels(end.steps)).toEqual(['restore the workload', 'resume the automated sync of Argo CD Application argocd/shop-app']);
    expect(patched(pausedApp, end.steps[1]!)).toEqual(app);
  });

  it('--gitops=pause refused before any change when the user may not patch the Application, or it is not found', () => {
    const forbidden = refusalOf(() => planStart(stateOf(tracked, { gitops: argoState(application(), { missing: ['patch applications.argoproj.io'] }) }), request({ gitops: 'pause' })));
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN' });
    expect(forbidden.message).toContain('argocd/shop-app');
    expect(forbidden.hint).toContain('--duplicate');
    expect(refusalOf(() => planStart(stateOf(tracked, { gitops: argoState() }), request({ gitops: 'pause' })))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('end of a start interrupted after the pause (workload not in dev mode) still resumes the Application', () => {
    const app = application();
    const paused = patched(app, planStart(stateOf(tracked, { gitops: argoState(app) }), request({ gitops: 'pause' })).steps[1]!);
    const end = planEnd({ current: tracked, leftovers: [], devPods: [], clampedHpas: [], pausedApplication: paused }, { ref: request().ref, timeoutMs: 1000 });
    expect(labels(end.steps)).toEqual(['resume the automated sync of Argo CD Application argocd/shop-app']);
    expect(end.steps[0]!.phase).toBeDefined();
  });
});

describe('who holds it', () => {
  const inDevModeBy = (holder: { user?: string; host?: string }) => {
    const w = workload();
    const dev = patched(w, workloadPatch(planStart(stateOf(w, { me: holder }), request()).steps));
    expect(JSON.parse(dev.metadata.annotations[HOLDER_ANNOTATION])).toEqual(holder);
    return dev;
  };

  it('records the holder on the workload and on the sync Secret', () => {
    const plan = planStart(stateOf(workload(), { me: ALICE }), request());
    expect((plan.steps[0] as { object: KubeObject }).object.metadata?.annotations?.[HOLDER_ANNOTATION]).toBe(JSON.stringify(ALICE));
    inDevModeBy(ALICE);
  });

  it('a second user\'s start is refused naming the holder, with --duplicate; the same user on another host is not refused', () => {
    const dev = inDevModeBy(ALICE);
    const error = refusalOf(() => planStart(stateOf(dev, { me: BOB, original: exitWorkload(dev) }), request()));
    expect(error).toMatchObject({ code: 'HELD_BY_OTHER' });
    expect(error.message).toContain('alice on laptop-a');
    expect(error.message).toContain(NOW);
    expect(error.hint).toContain('--duplicate');
    const again = planStart(stateOf(dev, { me: { user: 'alice', host: 'desktop' }, original: exitWorkload(dev) }), request());
    expect(again.mode.alreadyInDevMode).toBe(true);
    // Without a known user (a server without SelfSubjectReview), nobody is refused.
    expect(planStart(stateOf(dev, { me: { host: 'x' }, original: exitWorkload(dev) }), request()).mode.alreadyInDevMode).toBe(true);
  });
});
