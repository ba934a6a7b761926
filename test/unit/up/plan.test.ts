// up/down's pure parts: which workloads, in which order, their prefixes, port clashes, what a failure does, the final error.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseDevConfig } from '../../../src/config/devconfig.ts';
import { parseForwardSpecs } from '../../../src/config/forward-spec.ts';
import { DevError } from '../../../src/core/errors.ts';
import { prefixLines } from '../../../src/run/output.ts';
import { formatColumns, labelsFor, localPortClashes, overallError, prefixOf, selectWorkloads, stopsOthers } from '../../../src/up/plan.ts';

const config = parseDevConfig([
  'metadata: { name: shop }',
  'workloads:',
  '  deployment/reviews: { namespace: shop }',
  '  statefulset/ratings: {}',
  '  cj/reviews: {}',
  '  pod/worker: {}',
].join('\n'), '.kubectl-dev.yaml');

const keys = (names: string[]) => selectWorkloads(config, names).map((w) => w.key);

describe('selectWorkloads', () => {
  it('takes every workload in the order of the file when none is named', () => {
    expect(keys([])).toEqual(['deployment/reviews', 'statefulset/ratings', 'cj/reviews', 'pod/worker']);
    expect(config.name).toBe('shop');
  });

  it('takes those named, by NAME (every kind of that name) or KIND/NAME with any alias, once each, in the file\'s order', () => {
    expect(keys(['worker', 'reviews'])).toEqual(['deployment/reviews', 'cj/reviews', 'pod/worker']);
    expect(keys(['cronjob/reviews', 'po/worker', 'pod/worker'])).toEqual(['cj/reviews', 'pod/worker']);
    expect(keys(['sts/ratings'])).toEqual(['statefulset/ratings']);
  });

  it('names every unknown workload at once, and what the file has', () => {
    const error = (() => { try { selectWorkloads(config, ['web', 'reviews', 'deploy/ratings']); } catch (e) { return e as DevError; } })();
    expect(error).toBeInstanceOf(DevError);
    expect(error!.code).toBe('INVALID_OPTION');
    expect(error!.message).toBe('not in the dev config .kubectl-dev.yaml: web, deploy/ratings');
    expect(error!.hint).toContain('deployment/reviews, statefulset/ratings, cj/reviews, pod/worker');
  });

  it('refuses a dev config without workloads', () => {
    expect(() => selectWorkloads(parseDevConfig('defaults: {image: node:24}', 'x.yaml'), [])).toThrow(/x\.yaml has no workloads/);
  });

  it('checks metadata.name is a string', () => {
    expect(() => parseDevConfig('metadata: { name: [a] }\nworkloads: {}', 'x.yaml')).toThrow(/metadata\.name/);
  });
});

describe('labelsFor', () => {
  it('is the name, kind/name where names repeat, namespace/kind/name where those repeat too', () => {
    expect(labelsFor([
      { kind: 'Deployment', name: 'reviews', namespace: 'a' },
      { kind: 'CronJob', name: 'reviews', namespace: 'a' },
      { kind: 'StatefulSet', name: 'db', namespace: 'a' },
      { kind: 'StatefulSet', name: 'db', namespace: 'b' },
      { kind: 'Pod', name: 'worker', namespace: 'a' },
    ])).toEqual(['deployment/reviews', 'cronjob/reviews', 'a/statefulset/db', 'b/statefulset/db', 'worker']);
    expect(prefixOf('worker')).toBe('[worker] ');
  });
});

describe('localPortClashes', () => {
  it('names a fixed local port two workloads forward; free ports (:REMOTE) never clash', () => {
    const specs = (...s: string[]) => parseForwardSpecs(s, '--forward');
    expect(localPortClashes([{ label: 'a', specs: specs('8080:80', ':9229') }, { label: 'b', specs: specs('8081:80', ':9229') }])).toBeUndefined();
    const clash = localPortClashes([{ label: 'a', specs: specs('8080:80') }, { label: 'b', specs: specs('8080') }, { label: 'c', specs: specs('9000', '8080:1') }]);
    expect(clash?.message).toBe('the same local port is forwarded for several workloads: 8080 (a, b, c)');
  });
});

describe('the failure policy and the final error', () => {
  const failure = { label: 'worker', error: new DevError('POD_FAILED', 'image not found', 'use another image') };
  it('stops the others only under abort, and only for a failure', () => {
    expect(stopsOthers('continue', failure)).toBe(false);
    expect(stopsOthers('abort', failure)).toBe(true);
    expect(stopsOthers('abort', { label: 'web' })).toBe(false);
  });

  it('is nothing when all went well, the failure itself for one workload, else one naming each with the first code', () => {
    expect(overallError('up', [{ label: 'web' }, { label: 'db' }])).toBeUndefined();
    expect(overallError('up', [failure])).toBe(failure.error);
    const two = overallError('down', [{ label: 'web' }, failure, { label: 'db', error: new DevError('DRIFT', 'edited', 'use --force') }]);
    expect(two?.code).toBe('POD_FAILED');
    expect(two?.message).toBe('down: 2 of 3 workloads failed: [worker] image not found; [db] edited');
    expect(two?.hint).toBe('[worker] use another image [db] use --force');
  });
});

describe('prefixed output', () => {
  it('keeps every workload\'s lines whole and prefixed when several write into one stream in pieces', async () => {
    let out = '';
    const target = new Writable({ write(chunk, _e, cb) { out += chunk.toString(); cb(); } });
    const web = prefixLines(target, prefixOf('web'));
    const db = prefixLines(target, prefixOf('db'));
    const write = (w: Writable, text: string) => new Promise<void>((resolve) => w.write(text, () => resolve()));
    await write(web, 'listen');
    await write(db, 'ready\nconn');
    await write(web, 'ing on 80\n');
    await write(db, 'ected\n');
    await new Promise<void>((resolve) => db.end('last without newline', () => resolve()));
    expect(out.split('\n')).toEqual(['[db] ready', '[web] listening on 80', '[db] connected', '[db] last without newline', '']);
  });

  it('lays out a table with padded columns', () => {
    expect(formatColumns(['A', 'BB'], [['xyz', '1'], ['w', '22']])).toBe('A     BB\nxyz   1\nw     22\n');
  });
});
