// `kubectl-dev render` as a user runs it (the built CLI, a child process): stdin →
// stdout, flags, the dev config file, the KRM ResourceList mode, exit codes, and the
// same output as `start --local` for a workload.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exit } from '../../src/core/exit.ts';
import { parseManifests } from '../../src/core/manifests.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { CORPUS } from './render-support.ts';
import { runCli } from './run-cli.ts';

const BOOKINFO_PATH = join(CORPUS, 'istio__bookinfo.yaml');
const BOOKINFO = readFileSync(BOOKINFO_PATH, 'utf8');
const objects = (text: string) => parseManifests(text, 'out').map((p) => p.object);
const named = (list: KubeObject[], kind: string, name: string) => list.find((o) => o.kind === kind && o.metadata?.name === name)!;
const container = (obj: KubeObject, name: string) =>
  ((obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers).find((c) => c.name === name)!;

function tmp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'render-cli-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('kubectl-dev render (stream mode)', () => {
  it('reads stdin, writes the stream with the selected workload in dev mode', () => {
    const r = runCli(['render', '--select', 'deployment/reviews-v1', '--image', 'node:24', '--env', 'A=1', '--workdir', '/src'], { stdin: BOOKINFO });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = objects(r.stdout);
    const reviews = named(out, 'Deployment', 'reviews-v1');
    expect(reviews.metadata?.labels?.['dev.kubectl-dev.io/dev-mode']).toBe('true');
    expect(container(reviews, 'reviews')).toMatchObject({ image: 'node:24', workingDir: '/src', env: [{ name: 'LOG_DIR', value: '/tmp/logs' }, { name: 'A', value: '1' }] });
    expect(named(out, 'Deployment', 'reviews-v2')).toEqual(named(objects(BOOKINFO), 'Deployment', 'reviews-v2'));
    expect(exit(out)).toEqual(objects(BOOKINFO));
  });

  it('gives the same output as start --local for the same workload (one rewrite)', () => {
    const flags = ['-c', 'reviews', '--image', 'node:24', '--env', 'DEBUG=1', '--keep-security-context'];
    const rendered = runCli(['render', '--select', 'deploy/reviews-v3', ...flags], { stdin: BOOKINFO });
    const local = runCli(['start', '--local', '-f', BOOKINFO_PATH, 'deploy/reviews-v3', ...flags]);
    expect(local.code).toBe(0);
    expect(rendered.code).toBe(0);
    expect(objects(rendered.stdout)).toEqual(objects(local.stdout));
    // And byte for byte for the workload's document (comments above it aside).
    const doc = (text: string) => text.split(/^---\n/m).map((d) => d.replace(/^(#.*\n|\s*\n)+/, '')).find((d) => d.includes('name: reviews-v3\n') && d.startsWith('apiVersion: apps/v1'));
    expect(doc(rendered.stdout)).toBe(doc(local.stdout));
  });

  it('accepts -f, repeated and comma-separated --select, and is byte-for-byte deterministic', () => {
    const file = tmp('bookinfo.yaml', BOOKINFO);
    const a = runCli(['render', '-f', file, '--select', 'deploy/ratings-v1,deploy/details-v1', '--select', 'deploy/productpage-v1']);
    const b = runCli(['render', '--select', 'deploy/productpage-v1', '--select', 'deploy/ratings-v1', '--select=deploy/details-v1'], { stdin: BOOKINFO });
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(objects(a.stdout).filter((o) => o.metadata?.labels?.['dev.kubectl-dev.io/dev-mode'] === 'true').map((o) => o.metadata?.name)).toEqual(['details-v1', 'ratings-v1', 'productpage-v1']);
  });

  it('passes the input through unchanged with a warning when nothing is selected', () => {
    const r = runCli(['render'], { stdin: BOOKINFO });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(BOOKINFO);
    expect(r.stderr).toMatch(/^warning: nothing selected: .* among the 14 objects; the input passes through unchanged\n$/);
  });

  it('selects by the dev config; flags win over it', () => {
    const config = tmp('dev.yaml', 'defaults: {image: "node:22"}\nworkloads:\n  deploy/ratings-v1: {env: {MODE: dev}, command: npm run dev}\n  deploy/details-v1:\n');
    const r = runCli(['render', '--config', config, '--image', 'node:24'], { stdin: BOOKINFO });
    expect(r.code).toBe(0);
    const out = objects(r.stdout);
    expect(container(named(out, 'Deployment', 'ratings-v1'), 'ratings')).toMatchObject({ image: 'node:24', command: ['/bin/sh', '-c', 'npm run dev'], env: [{ name: 'MODE', value: 'dev' }] });
    expect(container(named(out, 'Deployment', 'details-v1'), 'details')).toMatchObject({ image: 'node:24' });
    expect(named(out, 'Deployment', 'reviews-v1').metadata?.labels?.['dev.kubectl-dev.io/dev-mode']).toBeUndefined();
  });

  it('a bad dev config: exit 2, the key path and line, nothing on stdout', () => {
    const config = tmp('dev.yaml', 'workloads:\n  deploy/ratings-v1:\n    imag: node:24\n');
    const r = runCli(['render', '--config', config], { stdin: BOOKINFO });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error: invalid dev config: workloads["deploy/ratings-v1"].imag (line 3): unknown key "imag"');
    expect(r.stderr).toContain(`where: ${config}, line 3`);
  });

  it.each([
    ['malformed YAML', `${BOOKINFO}---\nkind: [\n`, ['--select', 'deploy/reviews-v1'], 3, /error: invalid YAML: .*\n {2}where: stdin, document 15 \(line \d+\)/],
    ['a selected Helm hook', `${BOOKINFO}---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, annotations: {helm.sh/hook: pre-install}}\nspec: {template: {spec: {containers: [{name: m, image: m}]}}}\n`, ['--select', 'job/migrate'], 3, /error: job\/migrate is a Helm hook \(helm.sh\/hook: pre-install\); dev mode leaves hooks as they are/],
    ['a duplicate key in the selected workload', BOOKINFO.replace('  name: reviews-v1\n', '  name: reviews-v1\n  name: reviews-v1\n'), ['--select', 'deploy/reviews-v1'], 3, /error: invalid YAML in a document to rewrite: duplicate key "name" \(kubectl and Helm keep the last one\)\n {2}where: stdin, document \d+ \(line \d+\), Deployment\/reviews-v1, metadata.name/],
    ['a selection that matches nothing', BOOKINFO, ['--select', 'deploy/reviews'], 3, /error: --select deployment\/reviews: no workload in the input matches\n.*hint: .*the input has: deployment\/details-v1/s],
    ['a bad --select', BOOKINFO, ['--select', 'reviews'], 2, /error: "reviews" is not of the form KIND\/NAME/],
    ['a bad option', BOOKINFO, ['--select', 'deploy/reviews-v1', '--workdir', 'rel'], 2, /workdir "rel" must be an absolute path/],
    ['a missing file', '', ['-f', '/nonexistent/x.yaml'], 3, /error: cannot read \/nonexistent\/x.yaml/],
  ])('%s: a clear message, non-zero exit, nothing on stdout', (_name, stdin, args, code, message) => {
    const r = runCli(['render', ...args], { stdin });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(code);
  });

  it('writes its messages to $KUBECTL_DEV_RENDER_LOG too (Helm 4 hides stderr)', () => {
    const log = join(mkdtempSync(join(tmpdir(), 'render-log-')), 'render.log');
    runCli(['render'], { stdin: BOOKINFO, env: { KUBECTL_DEV_RENDER_LOG: log } });
    const r = runCli(['render', '--select', 'deploy/nope'], { stdin: BOOKINFO, env: { KUBECTL_DEV_RENDER_LOG: log } });
    expect(r.code).toBe(3);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('warning: nothing selected');
    expect(text).toContain('error: --select deployment/nope: no workload in the input matches');
  });
});

describe('kubectl-dev render (KRM function mode)', () => {
  const rl = (items: KubeObject[], functionConfig?: unknown) => JSON.stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items, ...(functionConfig ? { functionConfig } : {}) });
  const items = objects(BOOKINFO).map((o, i) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata?.annotations, 'config.kubernetes.io/index': String(i), 'internal.config.kubernetes.io/path': 'bookinfo.yaml' } } }));

  it('answers a ResourceList with a ResourceList, options from functionConfig', () => {
    const r = runCli(['render'], { stdin: rl(items, { apiVersion: 'dev.kubectl-dev.io/v1alpha1', kind: 'DevConfig', metadata: { name: 'dev' }, workloads: { 'deploy/reviews-v1': { image: 'node:24' } } }) });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = parse(r.stdout);
    expect(out.kind).toBe('ResourceList');
    expect(out.items).toHaveLength(items.length);
    const reviews = named(out.items, 'Deployment', 'reviews-v1');
    expect(reviews.metadata?.annotations).toMatchObject(named(items, 'Deployment', 'reviews-v1').metadata!.annotations!);
    expect(container(reviews, 'reviews').image).toBe('node:24');
  });

  it('an error: results with severity error on stdout, the message on stderr, non-zero exit', () => {
    const r = runCli(['render', '--select', 'deploy/nope'], { stdin: rl(items) });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: --select deployment/nope: no workload in the input matches');
    const out = parse(r.stdout);
    expect(out.items).toEqual(items);
    expect(out.results).toEqual([{ message: expect.stringContaining('no workload in the input matches'), severity: 'error' }]);
  });

  it('a ResourceList without items: exit 3, nothing on stdout', () => {
    const r = runCli(['render'], { stdin: 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n' });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error: the ResourceList has no items\n  where: stdin, document 1 (line 1), items');
  });
});
