// The executor against a small in-memory cluster (the narrow API it writes through, passed in).
import { applyPatch, type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import type { DeleteOptions, ObjectRef, WriteOptions } from '../../../src/kube/api.ts';
import { dryRunOnServer, executePlan, type PlanApi, type PlanWaits } from '../../../src/live/execute.ts';
import type { PlanStep } from '../../../src/live/plan.ts';

const key = (ref: ObjectRef) => `${ref.kind}/${ref.name}`;
const refOf = (obj: KubeObject): ObjectRef => ({ apiVersion: String(obj.apiVersion), kind: String(obj.kind), name: String(obj.metadata?.name), namespace: 'team' });
const conflict = () => new DevError('CONFLICT', 'conflict', 'again');

/** Objects by kind/name; every call logged; `fail` makes the named call throw. */
class FakeCluster implements PlanApi {
  objects = new Map<string, KubeObject>();
  log: string[] = [];
  fail = new Map<string, DevError>();
  /** Called after a refused patch, before the executor reads again (a controller's status update, an edit). */
  onConflict?: () => void;
  private version = 100;

  put(obj: KubeObject): KubeObject {
    const stored = structuredClone(obj);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.version) };
    this.objects.set(key(refOf(stored)), stored);
    return stored;
  }

  private check(call: string): void {
    this.log.push(call);
    const error = this.fail.get(call);
    if (error) throw error;
  }

  async get(ref: ObjectRef) {
    return structuredClone(this.objects.get(key(ref)));
  }

  async create(obj: KubeObject, options: WriteOptions = {}) {
    this.check(`create ${key(refOf(obj))}${options.dryRun ? ' (dry run)' : ''}`);
    if (this.objects.has(key(refOf(obj)))) throw conflict();
    return options.dryRun ? { ...structuredClone(obj), status: { defaulted: true } } : this.put(obj);
  }

  async patch(ref: ObjectRef, operations: Operation[], options: WriteOptions = {}) {
    this.check(`patch ${key(ref)}${options.dryRun ? ' (dry run)' : ''}`);
    const current = this.objects.get(key(ref));
    if (!current) throw new DevError('NOT_FOUND', 'gone', 'x');
    const [first, ...rest] = operations;
    if (first?.path === '/metadata/resourceVersion' && (first as { value: unknown }).value !== current.metadata?.resourceVersion) {
      this.onConflict?.();
      throw conflict();
    }
    const next = applyPatch(structuredClone(current), first?.path === '/metadata/resourceVersion' ? rest : operations).newDocument;
    return options.dryRun ? next : this.put(next);
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}) {
    this.check(`delete ${key(ref)}`);
    const current = this.objects.get(key(ref));
    if (!current || (options.uid && current.metadata?.uid !== options.uid)) return false;
    this.objects.delete(key(ref));
    return true;
  }
}

function deps(cluster: FakeCluster, waits: Partial<PlanWaits> = {}) {
  const checkpoints: string[] = [];
  const notes: string[] = [];
  const progress = { start: (t: string) => notes.push(`start: ${t}`), succeed: (t?: string) => notes.push(`succeed${t ? `: ${t}` : ''}`), note: (t: string) => notes.push(`note: ${t}`) };
  const allWaits: PlanWaits = { devPod: async (r) => ({ kind: 'Pod', metadata: { name: `pod-of-${r.podCreator}` } }), gone: async () => {}, restartPod: async () => {}, ...waits };
  return { checkpoints, notes, deps: { api: cluster, checkpoint: (l: string) => checkpoints.push(l), progress, waits: allWaits } };
}

const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'b' } };
const deployment = (rv: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', resourceVersion: rv }, spec: { replicas: 3 } });
const patchWeb = (rv: unknown, state = JSON.stringify({ spec: { replicas: 3 } })): PlanStep => ({
  type: 'patch', label: 'patch the workload', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'team' },
  operations: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
  precondition: { resourceVersion: rv, retry: { state, attempts: 5, conflict: { message: 'web changed meanwhile', hint: 'run again' } } },
  phase: { start: 'putting web in dev mode', done: 'web is in dev mode' },
});

describe('executePlan', () => {
  it('runs the steps in order, a checkpoint before every write and none before a wait', async () => {
    const cluster = new FakeCluster();
    const web = cluster.put(deployment(''));
    const { deps: d, checkpoints, notes } = deps(cluster);
    const plan: PlanStep[] = [
      { type: 'create', label: 'create the sync Secret', object: secret, phase: { start: 'preparing the sync Secret' } },
      patchWeb(web.metadata?.resourceVersion),
      { type: 'wait-dev-pod', label: 'wait for the dev pod', creator: { step: 1 }, request: { namespace: 'team', workloadLabel: 'deployment.web', devContainer: 'app', podCreator: 'web', timeoutMs: 1000, since: new Date(0) } },
    ];
    const outcome = await executePlan(plan, d);
    expect(cluster.log).toEqual(['create Secret/s', 'patch Deployment/web']);
    expect(checkpoints).toEqual(['create the sync Secret', 'patch the workload']);
    expect((outcome.results[1] as KubeObject).spec).toEqual({ replicas: 1 });
    expect(outcome.results[2]).toMatchObject({ metadata: { name: 'pod-of-web' } });
    expect(notes).toEqual(['start: preparing the sync Secret', 'succeed', 'start: putting web in dev mode', 'succeed: web is in dev mode']);
  });

  it('hands the wait the object an earlier step made', async () => {
    const cluster = new FakeCluster();
    let creator: KubeObject | undefined;
    const { deps: d } = deps(cluster, { devPod: async (r) => ((creator = r.creator), { kind: 'Pod' }) });
    await executePlan([{ type: 'create', label: 'create Job web-dev', object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'web-dev' } } },
      { type: 'wait-dev-pod', label: 'wait', creator: { step: 0 }, request: { namespace: 'team', workloadLabel: 'job.web', devContainer: 'app', podCreator: 'web-dev', timeoutMs: 1000, since: new Date(0) } }], d);
    expect(creator?.metadata?.resourceVersion).toBeDefined();
  });

  it('stops at the first step that fails: no later step, no later checkpoint', async () => {
    const cluster = new FakeCluster();
    cluster.fail.set('create Secret/s', new DevError('FORBIDDEN', 'forbidden', 'ask'));
    const { deps: d, checkpoints } = deps(cluster);
    const plan: PlanStep[] = [{ type: 'create', label: 'create the sync Secret', object: secret }, patchWeb('1')];
    await expect(executePlan(plan, d)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(checkpoints).toEqual(['create the sync Secret']);
    expect(cluster.log).toEqual(['create Secret/s']);
  });

  it('retries a patch refused for a status change with the fresh resourceVersion (a checkpoint per attempt)', async () => {
    const cluster = new FakeCluster();
    const web = cluster.put(deployment(''));
    cluster.onConflict = () => cluster.put({ ...cluster.objects.get('Deployment/web')!, status: { observedGeneration: 2 } });
    cluster.put({ ...web, status: { observedGeneration: 1 } });
    const { deps: d, checkpoints } = deps(cluster);
    const outcome = await executePlan([patchWeb(web.metadata?.resourceVersion)], d);
    expect(checkpoints).toEqual(['patch the workload', 'patch the workload']);
    expect((outcome.results[0] as KubeObject).spec).toEqual({ replicas: 1 });
  });

  it('refuses a patch when someone else changed more than the status, with the step\'s own error', async () => {
    const cluster = new FakeCluster();
    const web = cluster.put(deployment(''));
    cluster.put({ ...web, spec: { replicas: 5 } });
    const { deps: d } = deps(cluster);
    await expect(executePlan([patchWeb(web.metadata?.resourceVersion)], d)).rejects.toMatchObject({ code: 'CONFLICT', message: 'web changed meanwhile' });
    expect(cluster.objects.get('Deployment/web')?.spec).toEqual({ replicas: 5 });
  });

  it('takes an object created meanwhile when the step keeps existing ones; tolerated refusals are notes', async () => {
    const cluster = new FakeCluster();
    cluster.put(secret);
    cluster.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', uid: 'u' } });
    cluster.fail.set('delete Pod/orphan', new DevError('FORBIDDEN', 'no delete pods', 'ask'));
    const { deps: d, notes } = deps(cluster);
    const outcome = await executePlan([
      { type: 'create', label: 'create the sync Secret', object: secret, keepExisting: true },
      { type: 'delete', label: 'delete the orphaned dev pod orphan', ref: { apiVersion: 'v1', kind: 'Pod', name: 'orphan' }, options: { uid: 'u' }, reportAs: 'Pod/orphan', tolerate: { codes: ['FORBIDDEN'], note: 'the orphaned dev pod orphan is left' } },
      { type: 'delete', label: 'delete Secret s', ref: { apiVersion: 'v1', kind: 'Secret', name: 's' }, reportAs: 'Secret/s' },
    ], d);
    expect(outcome.results[0]).toMatchObject({ metadata: { name: 's' } });
    expect(outcome.reported).toEqual(['Secret/s']);
    expect(notes).toContain('note: the orphaned dev pod orphan is left: no delete pods');
  });

  it('a create refused as existing fails when the step does not keep existing ones', async () => {
    const cluster = new FakeCluster();
    cluster.put(secret);
    await expect(executePlan([{ type: 'create', label: 'create', object: secret }], deps(cluster).deps)).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('dryRunOnServer', () => {
  it('sends creates and patches with dryRun, shows the server\'s result, and changes nothing', async () => {
    const cluster = new FakeCluster();
    const web = cluster.put(deployment(''));
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', uid: 'u' } };
    cluster.put(pod);
    const before = structuredClone([...cluster.objects]);
    const plan: PlanStep[] = [
      { type: 'create', label: 'create the sync Secret', object: secret },
      { ...patchWeb(web.metadata?.resourceVersion), from: web } as PlanStep,
      { type: 'delete', label: 'delete the original Pod', ref: refOf(pod), options: { uid: 'u' } },
      { type: 'create', label: 'create the dev Pod', object: pod },
    ];
    const shown = await dryRunOnServer(plan, cluster);
    expect(cluster.log).toEqual(['create Secret/s (dry run)', 'patch Deployment/web (dry run)']);
    expect(shown.map((s) => s.label)).toEqual(plan.map((s) => s.label));
    expect(shown[0]).toMatchObject({ object: { status: { defaulted: true } } });
    expect(shown[1]).toMatchObject({ operations: [{ op: 'replace', path: '/spec/replicas', value: 1 }] });
    expect([...cluster.objects]).toEqual(before);
  });
});
