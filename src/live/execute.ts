// Runs a plan (plan.ts) step by step through the cluster API: a checkpoint before every
// write (the crash tests kill the process there), the waits in between, and a stop at the
// first step that fails. A server dry run sends the same writes with dryRun=All instead.

import jsonPatch from 'fast-json-patch';
import { restorableState } from '../core/original.ts';
import { DevError } from '../core/errors.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi, ObjectRef } from '../kube/api.ts';
import type { Progress } from './deps.ts';
import { isCheckpointed, sentOperations, stepRef, type CreateStep, type DeleteStep, type PatchStep, type PlanStep, type RestartPodStep, type StepProgress } from './plan.ts';
import type { WaitRequest } from './wait.ts';

/** The part of the cluster API a plan writes through. */
export type PlanApi = Pick<ClusterApi, 'get' | 'create' | 'patch' | 'delete'>;

/** The waits a plan contains, injected (live: wait.ts and pods.ts). */
export interface PlanWaits {
  devPod(request: WaitRequest): Promise<KubeObject>;
  gone(ref: ObjectRef, uid: string, timeoutMs: number): Promise<void>;
  /** restart-pod: `beforeDelete` is called right before the delete it may send (the plan's checkpoint). */
  restartPod(step: RestartPodStep, beforeDelete: () => void): Promise<void>;
}

export interface ExecuteDeps {
  api: PlanApi;
  /** Called with the step's label right before each write. */
  checkpoint(label: string): void;
  progress: Progress;
  waits: PlanWaits;
}

/** Per step: the object a create, patch or dev pod wait returned (or that was found); for a delete, whether it was there. */
export type StepResult = KubeObject | boolean | undefined;

export interface Outcome {
  results: StepResult[];
  /** The `reportAs` of the steps that deleted or restored something, in order. */
  reported: string[];
}

async function create(step: CreateStep, deps: ExecuteDeps): Promise<KubeObject> {
  try {
    return await deps.api.create(step.object);
  } catch (error) {
    if (step.keepExisting && error instanceof DevError && error.code === 'CONFLICT') {
      const raced = await deps.api.get(stepRef(step)!);
      if (raced) return raced;
    }
    throw error;
  }
}

/** A refusal of the precondition is retried while only the status changed (controllers update it all the time). */
async function patch(step: PatchStep, deps: ExecuteDeps): Promise<KubeObject> {
  let resourceVersion = step.precondition?.resourceVersion;
  const retry = step.precondition?.retry;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) deps.checkpoint(step.label);
    try {
      return await deps.api.patch(step.ref, sentOperations(step, resourceVersion));
    } catch (error) {
      if (!retry || !(error instanceof DevError && error.code === 'CONFLICT')) throw error;
      const fresh = await deps.api.get(step.ref);
      if (!fresh || attempt >= retry.attempts || JSON.stringify(restorableState(fresh)) !== retry.state) {
        throw new DevError('CONFLICT', retry.conflict.message, retry.conflict.hint);
      }
      resourceVersion = fresh.metadata?.resourceVersion;
    }
  }
}

async function remove(step: DeleteStep, deps: ExecuteDeps): Promise<boolean> {
  try {
    return await deps.api.delete(step.ref, step.options);
  } catch (error) {
    if (!(error instanceof DevError && step.tolerate?.codes.includes(error.code))) throw error;
    deps.progress.note(`${step.tolerate.note}: ${error.message}`);
    return false;
  }
}

async function runStep(step: PlanStep, results: readonly StepResult[], deps: ExecuteDeps): Promise<StepResult> {
  switch (step.type) {
    case 'create': return create(step, deps);
    case 'found': return step.object;
    case 'patch': return patch(step, deps);
    case 'delete': return remove(step, deps);
    case 'wait-gone': {
      await deps.waits.gone(step.ref, step.uid, step.timeoutMs);
      return undefined;
    }
    case 'restart-pod': {
      await deps.waits.restartPod(step, () => deps.checkpoint(step.label));
      return undefined;
    }
    case 'wait-dev-pod': {
      const creator = 'step' in step.creator ? results[step.creator.step] : step.creator.object;
      return deps.waits.devPod({ ...step.request, ...(creator && typeof creator === 'object' ? { creator } : {}) });
    }
  }
}

/** Shows the step's phase (ending the one before) and notes; returns the phase now open. */
function showProgress(step: StepProgress & { type: PlanStep['type'] }, open: StepProgress['phase'], progress: Progress): StepProgress['phase'] {
  let current = open;
  // The dev pod wait shows its own progress.
  if (current && (step.phase || step.type === 'wait-dev-pod')) {
    progress.succeed(current.done);
    current = undefined;
  }
  if (step.phase) {
    progress.start(step.phase.start);
    current = step.phase;
  }
  if (step.noteBefore) progress.note(step.noteBefore);
  return current;
}

export async function executePlan(plan: readonly PlanStep[], deps: ExecuteDeps): Promise<Outcome> {
  const results: StepResult[] = [];
  const reported: string[] = [];
  let phase: StepProgress['phase'];
  for (const step of plan) {
    phase = showProgress(step, phase, deps.progress);
    if (isCheckpointed(step)) deps.checkpoint(step.label);
    const result = await runStep(step, results, deps);
    results.push(result);
    if (step.noteAfter) deps.progress.note(step.noteAfter);
    if ((step.type === 'patch' || step.type === 'delete') && step.reportAs && result !== false) reported.push(step.reportAs);
  }
  if (phase) deps.progress.succeed(phase.done);
  return { results, reported };
}

/**
 * The plan as the API server would take it: every create and patch sent with dryRun=All and
 * shown as the server made it (a patch as its difference from the object read). Deletes and
 * waits are shown as planned, and so is a create of an object an earlier step deletes (it is
 * still there to refuse the dry run).
 */
export async function dryRunOnServer(plan: readonly PlanStep[], api: Pick<ClusterApi, 'create' | 'patch'>): Promise<PlanStep[]> {
  const out: PlanStep[] = [];
  const deleted = new Set<string>();
  // A plan writes in one namespace.
  const key = (ref: ObjectRef) => `${ref.apiVersion}/${ref.kind}/${ref.name}`;
  for (const step of plan) {
    if (step.type === 'delete') deleted.add(key(step.ref));
    if (step.type === 'create' && !deleted.has(key(stepRef(step)!))) {
      out.push({ ...step, object: await api.create(step.object, { dryRun: true }) });
    } else if (step.type === 'patch') {
      const result = await api.patch(step.ref, sentOperations(step), { dryRun: true });
      const operations = step.from ? jsonPatch.compare(step.from, result).filter((op) => !op.path.startsWith('/metadata/managedFields')) : step.operations;
      out.push({ ...step, operations });
    } else {
      out.push(step);
    }
  }
  return out;
}
