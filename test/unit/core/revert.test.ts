// Revert detection on Deployments captured from the test cluster's API server (see
// revert-captures/README.md): in dev mode, then changed by another field manager.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitWorkload } from '../../../src/core/exit.ts';
import { itemKey, keyedView, listView } from '../../../src/core/keyed.ts';
import { workloadKindByName } from '../../../src/core/kinds.ts';
import { DEV_MODE_LABEL, ORIGINAL_ANNOTATION, SIDECAR_CONTAINER } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { checkDevMode, covers, devModeEdits, madeFrom, ownsField, withoutDevMode } from '../../../src/core/revert.ts';

const deployment = workloadKindByName('deploy')!;

function capture(name: string): { since: string; object: KubeObject } {
  return JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'revert-captures', `${name}.json`), 'utf8')) as { since: string; object: KubeObject };
}

const savedOriginal = (obj: KubeObject) => (obj.metadata?.annotations?.[ORIGINAL_ANNOTATION] ? exitWorkload(obj) : undefined);

function check(name: string, edit?: (obj: KubeObject) => void) {
  const { since, object } = capture(name);
  edit?.(object);
  const original = savedOriginal(object);
  return checkDevMode(object, deployment, { since, ...(original ? { original } : {}) });
}

/** The original as dev mode saved it, from the capture in dev mode. */
const theOriginal = () => exitWorkload(capture('in-dev-mode').object);

describe('checkDevMode on captured objects', () => {
  it('a Deployment as start left it is in dev mode (server defaults on the sidecar do not count)', () => {
    expect(check('in-dev-mode')).toEqual({ state: 'in-dev-mode' });
  });

  it('a workload scaled while in dev mode is still in dev mode', () => {
    expect(check('in-dev-mode', (o) => ((o.spec as { replicas: number }).replicas = 3))).toEqual({ state: 'in-dev-mode' });
  });

  it('kubectl apply of the original (client-side): the command is given back, the sidecar and the marks stay; the applier owns the command', () => {
    expect(check('client-side-apply')).toEqual({
      state: 'reverted',
      by: { manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-12-01T19:10:55Z' },
      undone: ['spec.template.spec.containers[app].command'],
    });
  });

  it('server-side apply with --force-conflicts (as Flux applies): the same, with operation Apply', () => {
    expect(check('server-side-apply')).toEqual({
      state: 'reverted',
      by: { manager: 'kustomize-controller', operation: 'Apply', time: '2026-12-01T19:11:19Z' },
      undone: ['spec.template.spec.containers[app].command'],
    });
  });

  it('kubectl rollout undo: the template is the old one and the marks are gone, the label stays', () => {
    const { object } = capture('rollout-undo');
    expect(object.metadata?.labels?.[DEV_MODE_LABEL]).toBe('true');
    expect(object.metadata?.annotations?.[ORIGINAL_ANNOTATION]).toBeUndefined();
    expect(check('rollout-undo')).toEqual({
      state: 'reverted',
      by: { manager: 'kubectl', operation: 'Update', time: '2026-12-01T19:11:04Z' },
      undone: [`spec.template.spec.containers[${SIDECAR_CONTAINER}]`],
    });
  });

  it('a JSON patch that only removes the sidecar: reverted, but managedFields name no manager (a removal owns nothing)', () => {
    const result = check('json-patch-removes-sidecar');
    expect(result.state).toBe('reverted');
    expect(result).not.toHaveProperty('by');
    // The patch took the container only: the volumes dev mode added are still there.
    expect(result.state === 'reverted' && result.undone).toEqual([`spec.template.spec.containers[${SIDECAR_CONTAINER}]`]);
  });

  it('kubectl replace of the original: no label left; the replacer wrote the spec after dev mode started', () => {
    expect(check('replace')).toEqual({
      state: 'reverted',
      by: { manager: 'kubectl-replace', operation: 'Update', time: '2026-12-01T19:11:29Z' },
      undone: [`metadata.labels.${DEV_MODE_LABEL}`],
    });
  });

  it('after kubectl dev end: not in dev mode (the other managers wrote before the start)', () => {
    expect(check('ended')).toEqual({ state: 'not-in-dev-mode' });
  });

  it('without a time of the start, a workload without the label is not in dev mode', () => {
    const { object } = capture('replace');
    expect(checkDevMode(object, deployment, {})).toEqual({ state: 'not-in-dev-mode' });
  });
});

describe('withoutDevMode', () => {
  it('after an apply of the original: what dev mode left goes, the applied command stays; the spec is the original', () => {
    const { object } = capture('client-side-apply');
    const cleaned = withoutDevMode(object, deployment, savedOriginal(object));
    expect(cleaned.spec).toEqual(theOriginal().spec);
    expect(cleaned.metadata?.labels).toEqual({ app: 'web' });
    expect(Object.keys(cleaned.metadata?.annotations ?? {}).sort()).toEqual(['deployment.kubernetes.io/revision', 'kubectl.kubernetes.io/last-applied-configuration']);
    expect(cleaned.metadata?.uid).toBe(object.metadata?.uid);
  });

  it('after a patch that removed the sidecar: dev mode\'s command and volumes go back to the original too', () => {
    const { object } = capture('json-patch-removes-sidecar');
    expect(withoutDevMode(object, deployment, savedOriginal(object)).spec).toEqual(theOriginal().spec);
  });

  it('keeps what the other manager set in place of dev mode\'s values', () => {
    const { object } = capture('client-side-apply');
    const container = (object.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0]!;
    container.command = ['/bin/new-command'];
    const cleaned = withoutDevMode(object, deployment, savedOriginal(object));
    expect((cleaned.spec as typeof object.spec & { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0]!.command).toEqual(['/bin/new-command']);
  });

  it('after rollout undo (no saved original): only the label goes', () => {
    const { object } = capture('rollout-undo');
    const cleaned = withoutDevMode(object, deployment, undefined);
    expect(cleaned.spec).toEqual(object.spec);
    expect(cleaned.metadata?.labels).toEqual({ app: 'web' });
  });
});

describe('the pieces', () => {
  it('keyedView keys pod lists as managedFields do, and listView gives the lists back', () => {
    const spec = capture('in-dev-mode').object.spec;
    const view = keyedView(spec) as { template: { spec: { containers: Record<string, unknown> } } };
    expect(Object.keys(view.template.spec.containers)).toEqual([itemKey('name', 'app'), itemKey('name', SIDECAR_CONTAINER)]);
    expect(listView(view)).toEqual(spec);
  });

  it('ownsField reads fieldsV1 paths, keyed items included', () => {
    const entry = (capture('client-side-apply').object.metadata?.managedFields as Array<{ manager: string; fieldsV1: unknown }>).find((e) => e.manager === 'kubectl-client-side-apply')!;
    expect(ownsField(entry.fieldsV1, ['spec', 'template', 'spec', 'containers', itemKey('name', 'app'), 'command'])).toBe(true);
    expect(ownsField(entry.fieldsV1, ['spec', 'template', 'spec', 'containers', itemKey('name', SIDECAR_CONTAINER)])).toBe(false);
  });

  it('covers: defaults added by the server are fine, a changed or missing value is not; quantities by value', () => {
    expect(covers({ a: 1, b: 2 }, { a: 1 })).toBe(true);
    expect(covers({ a: 2 }, { a: 1 })).toBe(false);
    expect(covers(undefined, undefined)).toBe(true);
    expect(covers('x', undefined)).toBe(false);
    expect(covers(['a', 'b'], ['a'])).toBe(false);
    expect(covers('500m', '0.5')).toBe(true);
    expect(covers('1Gi', '1G')).toBe(false);
  });

  it('devModeEdits names the whole command list, not its items', () => {
    const { object } = capture('in-dev-mode');
    const original = exitWorkload(object);
    const edits = devModeEdits(original, madeFrom(object, original, deployment)!).map((e) => e.path.join('/'));
    expect(edits).toContain(`spec/template/spec/containers/${itemKey('name', 'app')}/command`);
    expect(edits.some((p) => /command\/\d/.test(p))).toBe(false);
  });
});
