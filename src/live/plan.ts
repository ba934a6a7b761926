// What start and end do to a cluster, as data: a list of typed steps computed by pure
// functions (start-plan.ts, end-plan.ts) from what was read, run by one executor
// (execute.ts) and printed as it is by --dry-run (cli/dry-run.ts).

import type { Operation } from 'fast-json-patch';
import type { ErrorCode } from '../core/errors.ts';
import { WORKLOAD_LABEL } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { DeleteOptions, ObjectRef } from '../kube/api.ts';
import { refOfObject } from './objects.ts';
import type { WaitRequest } from './wait.ts';

/** Progress shown while a step runs: a new `phase` ends the one before (with its `done` text). */
export interface StepProgress {
  phase?: { start: string; done?: string };
  /** One-line notes printed before and after the step. */
  noteBefore?: string;
  noteAfter?: string;
}

/** A resourceVersion precondition; with `retry`, a refusal caused only by a status change is retried with the fresh version. */
export interface Precondition {
  resourceVersion: unknown;
  retry?: {
    /** JSON of the restorable state (labels, annotations, spec) the operations were computed from. */
    state: string;
    attempts: number;
    /** The error when someone else changed more than the status. */
    conflict: { message: string; hint: string };
  };
}

interface StepBase extends StepProgress {
  /** One line for a human; also the name passed to the checkpoint before a write. */
  label: string;
}

export interface CreateStep extends StepBase {
  type: 'create';
  object: KubeObject;
  /** Created meanwhile by someone else (a concurrent start): that object is taken instead. */
  keepExisting?: boolean;
}

/**
 * An object start would create that is there already, taken as it is (a checkpoint, no
 * request: an interrupted start's Secret is found where a first start's would be created).
 */
export interface FoundStep extends StepBase {
  type: 'found';
  object: KubeObject;
}

export interface PatchStep extends StepBase {
  type: 'patch';
  ref: ObjectRef;
  operations: Operation[];
  precondition?: Precondition;
  /** The object as read, which the operations change (a server dry run shows its own difference from it). */
  from?: KubeObject;
  /** Said in what end removed or restored. */
  reportAs?: string;
}

export interface DeleteStep extends StepBase {
  type: 'delete';
  ref: ObjectRef;
  options?: DeleteOptions;
  /** Errors that leave the object in place with a note (`note: error`) instead of stopping the plan. */
  tolerate?: { codes: readonly ErrorCode[]; note: string };
  reportAs?: string;
}

export interface WaitGoneStep extends StepBase {
  type: 'wait-gone';
  ref: ObjectRef;
  uid: string;
  timeoutMs: number;
}

/**
 * Pod 0 of an OnDelete StatefulSet made to run the StatefulSet's template as it is now: once the
 * controller has seen the spec (status.observedGeneration), pod 0 is deleted unless it has the
 * update revision or is going already; the controller then makes it again from that revision.
 * Decided when it runs (a checkpoint before its delete): an earlier command's pod 0 may still
 * be terminating, or be recreated meanwhile.
 */
export interface RestartPodStep extends StepBase {
  type: 'restart-pod';
  /** The StatefulSet. */
  ref: ObjectRef;
  pod: string;
  timeoutMs: number;
}

/** The object that creates the dev pod: made by an earlier step of the plan, or as it was read. */
export type CreatorSource = { step: number } | { object: KubeObject };

export interface WaitDevPodStep extends StepBase {
  type: 'wait-dev-pod';
  request: Omit<WaitRequest, 'creator'>;
  creator: CreatorSource;
}

export type PlanStep = CreateStep | FoundStep | PatchStep | DeleteStep | WaitGoneStep | RestartPodStep | WaitDevPodStep;
export type WriteStep = CreateStep | PatchStep | DeleteStep;

export const isWrite = (step: PlanStep): step is WriteStep => step.type === 'create' || step.type === 'patch' || step.type === 'delete';

/** Steps with a checkpoint before them: the writes, and an object found where one would be created. */
export const isCheckpointed = (step: PlanStep): boolean => isWrite(step) || step.type === 'found';

/** The operations a patch step sends: its precondition first, so that the API server refuses (409) a changed object. */
export function sentOperations(step: PatchStep, resourceVersion = step.precondition?.resourceVersion): Operation[] {
  if (!step.precondition) return step.operations;
  return [{ op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion }, ...step.operations];
}

/** The ref a step writes or waits on (undefined for the dev pod wait). */
export function stepRef(step: PlanStep, namespace = ''): ObjectRef | undefined {
  if (step.type === 'create' || step.type === 'found') return refOfObject(step.object, namespace);
  if (step.type === 'wait-dev-pod') return undefined;
  return step.ref;
}

/**
 * A StatefulSet with `updateStrategy: OnDelete` only changes pods that are deleted: its pod 0
 * (when there is one) is restarted on the template start or end gave it.
 */
export function onDeleteRestart(statefulSet: KubeObject, pod: KubeObject | undefined, namespace: string, timeoutMs: number): RestartPodStep[] {
  const strategy = (statefulSet.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type;
  if (strategy !== 'OnDelete' || !pod) return [];
  return [{ type: 'restart-pod', label: 'delete the StatefulSet pod so that it restarts', ref: refOfObject(statefulSet, namespace), pod: String(pod.metadata?.name), timeoutMs }];
}

/** Name of pod 0 of a StatefulSet (the one an OnDelete restart deletes). */
export const firstPodName = (name: string): string => `${name}-0`;
