// Prints the plan --dry-run found (live/plan.ts): every step start would take, numbered,
// with its JSON-patch operations or the object it creates (a Secret's values hidden).

import { stringify } from 'yaml';
import type { KubeObject } from '../core/objects.ts';
import type { ObjectRef } from '../kube/api.ts';
import { refOfObject } from '../live/objects.ts';
import { isWrite, type PlanStep } from '../live/plan.ts';

const where = (ref: ObjectRef) => `${ref.kind}/${ref.name}${ref.namespace ? ` (namespace ${ref.namespace})` : ''}`;

/** The object as created, with a Secret's values hidden (keys are not for a terminal). */
function shown(obj: KubeObject): string {
  const copy = structuredClone(obj);
  if (copy.kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      const values = copy[field] as Record<string, unknown> | undefined;
      if (values) copy[field] = Object.fromEntries(Object.keys(values).map((k) => [k, '(hidden)']));
    }
  }
  return stringify(copy, { lineWidth: 0 }).trimEnd().replace(/^/gm, '      ');
}

function action(step: PlanStep): string[] {
  switch (step.type) {
    case 'create':
      return [`create ${where(refOfObject(step.object, ''))}`, shown(step.object)];
    case 'found':
      return [`keep ${where(refOfObject(step.object, ''))}: it is there already`];
    case 'patch': {
      const guard = step.precondition ? ` unless changed since read (resourceVersion ${String(step.precondition.resourceVersion)})` : '';
      return [`patch ${where(step.ref)}${guard}`, ...step.operations.map((op) => `      ${op.op} ${op.path}${'value' in op ? ` ${JSON.stringify(op.value)}` : ''}`)];
    }
    case 'delete':
      return [`delete ${where(step.ref)}${step.options?.uid ? ` (uid ${step.options.uid})` : ''}`];
    case 'wait-gone':
      return [`wait until ${where(step.ref)} is gone (up to ${Math.round(step.timeoutMs / 1000)} s)`];
    case 'restart-pod':
      return [`once the controller of ${where(step.ref)} has seen its new spec: delete Pod ${step.pod} unless it runs that revision (up to ${Math.round(step.timeoutMs / 1000)} s)`];
    case 'wait-dev-pod':
      return [`wait for the pod labelled ${step.request.workloadLabel} with containers ${step.request.devContainer} and the sidecar ready (up to ${Math.round(step.request.timeoutMs / 1000)} s)`];
  }
}

export function formatChanges(steps: readonly PlanStep[]): string {
  if (!steps.some(isWrite)) return 'no change: the workload is already in dev mode with these settings\n';
  // A step's notes (what manages the workload, what a clamp means) say why it is there.
  const notes = (step: PlanStep) => [step.noteBefore, step.noteAfter].filter((n): n is string => n !== undefined).flatMap((n) => n.split('\n').map((line) => `   note: ${line.trim()}`));
  const out = steps.map((step, i) => [`${i + 1}. ${step.label}`, ...action(step).map((line) => (line.startsWith('      ') ? line : `   ${line}`)), ...notes(step)].join('\n'));
  return `${out.join('\n')}\n`;
}
