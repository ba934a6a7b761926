// The dev config loader: every key of the documented schema, errors with the key's
// path and line, and how flags layer over the file.

import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import { devConfigFromValue, formatPath, parseDevConfig } from '../../../src/config/devconfig.ts';
import { mergeSettings, settingsFor } from '../../../src/config/resolve.ts';

function failure(fn: () => unknown): DevError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DevError);
    return error as DevError;
  }
  throw new Error('expected a DevError');
}

const FULL = `apiVersion: dev.kubectl-dev.io/v1alpha1
kind: DevConfig
defaults:
  image: node:24
  env: {TZ: UTC}
workloads:
  deploy/reviews:
    namespace: shop
    container: reviews
    image: node:24-bookworm
    workdir: /src
    command: npm run dev
    env:
      PORT: 8080
      MODE: 0644
      DEBUG: true
    resources: {limits: {memory: 2Gi}}
    keepSecurityContext: true
    renameContainer: dev
    sidecarImage: example.com/syncthing:2
    sync: {localDir: ./app, ignore: [node_modules, '*.log'], mode: two-way}
    forward: ['8080:9080', ':9229', 3000]
    run: npm start
  statefulset/db:
  cj/nightly:
    command: [/bin/bash, -lc, make nightly]
    env:
    - {name: A, value: "1"}
    - name: B
      valueFrom: {secretKeyRef: {name: s, key: k}}
`;

describe('parseDevConfig', () => {
  it('reads every documented key', () => {
    const config = parseDevConfig(FULL, '.kubectl-dev.yaml');
    expect(config.defaults).toEqual({ image: 'node:24', env: [{ name: 'TZ', value: 'UTC' }] });
    expect(config.workloads.map((w) => [w.key, w.ref.kind.kind, w.ref.name, w.ref.namespace])).toEqual([
      ['deploy/reviews', 'Deployment', 'reviews', 'shop'],
      ['statefulset/db', 'StatefulSet', 'db', undefined],
      ['cj/nightly', 'CronJob', 'nightly', undefined],
    ]);
    const reviews = config.workloads[0]!;
    expect(reviews).toMatchObject({
      container: 'reviews', image: 'node:24-bookworm', workdir: '/src', command: ['/bin/sh', '-c', 'npm run dev'],
      // Scalars in env keep the text as written: 0644 stays 0644, not 420 or 644.
      env: [{ name: 'PORT', value: '8080' }, { name: 'MODE', value: '0644' }, { name: 'DEBUG', value: 'true' }],
      resources: { limits: { memory: '2Gi' } }, keepSecurityContext: true, renameContainer: 'dev',
      sidecarImage: 'example.com/syncthing:2', sync: { localDir: './app', ignore: ['node_modules', '*.log'], mode: 'two-way' },
      forward: ['8080:9080', ':9229', '3000'], run: 'npm start',
    });
    expect(config.workloads[2]).toMatchObject({
      command: ['/bin/bash', '-lc', 'make nightly'],
      env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    });
  });

  it('accepts an empty file and JSON', () => {
    expect(parseDevConfig('', 'c.yaml').workloads).toEqual([]);
    expect(parseDevConfig('{"workloads": {"deploy/web": {"image": "x"}}}', 'c.json').workloads[0]?.image).toBe('x');
  });

  it('names every unknown key with its path and line, in one error', () => {
    const error = failure(() => parseDevConfig(`workloads:\n  deploy/web:\n    imgae: x\n    sync:\n      ignor: [a]\nextra: 1\n`, 'dev.yaml'));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain('workloads["deploy/web"].imgae (line 3): unknown key "imgae"');
    expect(error.message).toContain('workloads["deploy/web"].sync.ignor (line 5): unknown key "ignor"');
    expect(error.message).toContain('extra (line 6): unknown key "extra"');
    expect(error.where).toMatchObject({ source: 'dev.yaml', line: 3, path: 'workloads["deploy/web"].imgae' });
  });

  it.each([
    ['workloads: [a]', 'workloads (line 1): must be a mapping of KIND/NAME to settings, not a list'],
    ['workloads:\n  web: {}', 'workloads.web (line 2): "web" is not of the form KIND/NAME'],
    ['workloads:\n  replicaset/web: {}', '"replicaset" is not a workload kind kubectl-dev supports'],
    ['workloads:\n  deploy/web: {image: [1]}', 'image (line 2): must be a string, not a list'],
    ['workloads:\n  deploy/web: {workdir: src}', 'workdir "src" must be an absolute path'],
    ['workloads:\n  deploy/web: {command: 3}', 'must be a string (run with /bin/sh -c) or a list of strings'],
    ['workloads:\n  deploy/web: {keepSecurityContext: "yes"}', 'must be true or false'],
    ['workloads:\n  deploy/web: {sync: {mode: both}}', 'must be send-only or two-way'],
    ['workloads:\n  deploy/web: {gitops: off}', 'gitops (line 2): must be pause or ignore, not "off"'],
    ['workloads:\n  deploy/web: {sync: {localDir: ../other}}', 'sync.localDir (line 2): "../other" leaves the directory of this file'],
    ['workloads:\n  deploy/web: {sync: {localDir: /home}}', '"/home" leaves the directory of this file'],
    ['workloads:\n  deploy/web: {forward: ["80:x"]}', '"80:x" is not LOCAL:REMOTE, :REMOTE or PORT'],
    ['workloads:\n  deploy/web: {forward: ["70000"]}', 'ports are 1 to 65535'],
    ['workloads:\n  deploy/web: {env: [{value: x}]}', 'env[0].name (line 2): is required'],
    ['workloads:\n  deploy/web: {resources: {limit: {}}}', 'unknown key "limit"'],
    ['workloads:\n  deploy/web: {}\n  deployment/web: {}', 'names the same workload as "deploy/web"'],
    ['kind: Other', 'kind (line 1): must be DevConfig'],
    ['apiVersion: v1', 'apiVersion (line 1): must be dev.kubectl-dev.io/v1alpha1'],
    ['- a', 'the dev config must be a mapping'],
    ['a: [', 'invalid YAML'],
    ['workloads: {}\nworkloads: {}', 'invalid YAML'],
  ])('rejects %j', (text, message) => {
    expect(failure(() => parseDevConfig(text, 'c.yaml')).message).toContain(message);
  });

  it('checks a functionConfig value (no lines without text)', () => {
    const error = failure(() => devConfigFromValue({ kind: 'DevConfig', metadata: { name: 'x', annotations: { a: 'b' } }, workloads: { 'deploy/web': { imag: 'x' } } }, 'functionConfig'));
    expect(error.message).toBe('invalid dev config: workloads["deploy/web"].imag: unknown key "imag" (allowed here: namespace, container, image, workdir, command, env, resources, cpu, memory, keepSecurityContext, renameContainer, sidecarImage, persist, persistentVolume, sync, forward, reverse, run, duplicate, gitops)');
  });
});

describe('settings layering', () => {
  const config = parseDevConfig(FULL, 'c.yaml');

  it('defaults, then the workload entry, then flags; env merged by name', () => {
    const settings = settingsFor(config, 'Deployment', 'reviews', 'shop', { image: 'flag:1', env: [{ name: 'PORT', value: '1' }, { name: 'NEW', value: 'x' }] });
    expect(settings.image).toBe('flag:1');
    expect(settings.workdir).toBe('/src');
    expect(settings.env).toEqual([
      { name: 'TZ', value: 'UTC' }, { name: 'PORT', value: '1' }, { name: 'MODE', value: '0644' }, { name: 'DEBUG', value: 'true' }, { name: 'NEW', value: 'x' },
    ]);
    // sync, forward and run are not rewrite settings.
    expect(Object.keys(settings)).not.toContain('sync');
  });

  it('an entry with a namespace only matches that namespace (or objects without one)', () => {
    expect(settingsFor(config, 'Deployment', 'reviews', 'other', {}).image).toBe('node:24');
    expect(settingsFor(config, 'Deployment', 'reviews', undefined, {}).image).toBe('node:24-bookworm');
  });

  it('mergeSettings keeps absent fields absent', () => {
    expect(mergeSettings({}, { image: undefined as unknown as string })).toEqual({});
  });

  it('formats paths', () => {
    expect(formatPath(['workloads', 'deploy/web', 'env', 2, 'name'])).toBe('workloads["deploy/web"].env[2].name');
  });
});
