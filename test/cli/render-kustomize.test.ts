// kubectl-dev as a kustomize KRM exec function (kustomize v5, `build
// --enable-alpha-plugins --enable-exec`) on an overlay, and the pipe form
// `kustomize build | kubectl-dev render`.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exit } from '../../src/core/exit.ts';
import { parseManifests } from '../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../src/core/marks.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { kustomizeBinary } from '../tools/kustomize.ts';
import { CORPUS, envWithKubectlDev, run } from './render-support.ts';
import { runCli } from './run-cli.ts';

const objects = (text: string) => parseManifests(text, 'kustomize').map((p) => p.object);
const ref = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;
const named = (list: KubeObject[], r: string) => list.find((o) => ref(o) === r)!;
const inDevMode = (list: KubeObject[]) => list.filter((o) => o.metadata?.labels?.['dev.kubectl-dev.io/dev-mode'] === 'true').map(ref).sort();

function functionConfig(args: string[], body: string): string {
  return `apiVersion: dev.kubectl-dev.io/v1alpha1
kind: DevConfig
metadata:
  name: kubectl-dev
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: kubectl-dev
        args: ${JSON.stringify(['render', ...args])}
${body}`;
}

describe('kustomize v5 with kubectl-dev render', () => {
  let kustomize: string;
  let dir: string;
  const build = (overlay: string, flags = ['--enable-alpha-plugins', '--enable-exec']) =>
    run(kustomize, ['build', ...flags, join(dir, overlay)], { env: envWithKubectlDev(), cwd: dir });

  beforeAll(() => {
    kustomize = kustomizeBinary();
    dir = mkdtempSync(join(tmpdir(), 'render-kustomize-'));
    mkdirSync(join(dir, 'base'));
    cpSync(join(CORPUS, 'istio__bookinfo.yaml'), join(dir, 'base', 'bookinfo.yaml'));
    cpSync(join(CORPUS, 'kubernetes-website__cronjob-hello.yaml'), join(dir, 'base', 'cronjob.yaml'));
    cpSync(join(CORPUS, 'kubernetes-website__fluentd-daemonset.yaml'), join(dir, 'base', 'daemonset.yaml'));
    writeFileSync(join(dir, 'base', 'kustomization.yaml'), 'resources: [bookinfo.yaml, cronjob.yaml, daemonset.yaml]\n');
    const overlay = (name: string, fc: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'kustomization.yaml'), `resources: [../base]\nnamePrefix: dev-\nlabels: [{pairs: {env: dev}, includeSelectors: true}]\ntransformers: [kubectl-dev.yaml]\n`);
      writeFileSync(join(dir, name, 'kubectl-dev.yaml'), fc);
    };
    // --force: the fluentd DaemonSet runs in kube-system.
    overlay('overlay', functionConfig(['--force'], `workloads:
  deployment/dev-reviews-v1: {image: 'node:24', env: {LOG: debug}}
  cronjob/dev-hello: {}
  daemonset/dev-fluentd-elasticsearch: {container: fluentd-elasticsearch}
`));
    overlay('overlay-select', functionConfig(['--select', 'deploy/dev-ratings-v1', '--image', 'node:22'], ''));
    overlay('overlay-bad', functionConfig(['--select', 'deploy/nope'], ''));
    overlay('overlay-bad-config', functionConfig([], 'workloads:\n  deploy/dev-reviews-v1: {imagee: x}\n'));
    mkdirSync(join(dir, 'plain'));
    writeFileSync(join(dir, 'plain', 'kustomization.yaml'), 'resources: [../base]\nnamePrefix: dev-\nlabels: [{pairs: {env: dev}, includeSelectors: true}]\n');
  }, 15 * 60_000);

  it('runs as an exec function on an overlay: the configured workloads go into dev mode', () => {
    const r = build('overlay');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = objects(r.stdout);
    expect(inDevMode(out)).toEqual(['CronJob/dev-hello', 'DaemonSet/dev-fluentd-elasticsearch', 'Deployment/dev-reviews-v1']);
    // Generated objects come back as new resources.
    expect(out.map(ref)).toEqual(expect.arrayContaining(['Job/dev-hello-dev', 'Deployment/dev-fluentd-elasticsearch-dev']));
    // kustomize's own annotations went back to it (it removes them from the output) and never into the saved original.
    for (const o of out) {
      expect(Object.keys(o.metadata?.annotations ?? {}).filter((k) => k.includes('config.kubernetes.io') || k.includes('config.k8s.io')), ref(o)).toEqual([]);
    }
    const reviews = named(out, 'Deployment/dev-reviews-v1');
    expect(reviews.metadata?.annotations?.[ORIGINAL_ANNOTATION]).not.toMatch(/config\.k(ubernetes|8s)\.io/);
    const container = (reviews.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!;
    expect(container).toMatchObject({ image: 'node:24', env: [{ name: 'LOG_DIR', value: '/tmp/logs' }, { name: 'LOG', value: 'debug' }] });
    // Everything else is what kustomize builds without the function; exit gives all of it back,
    // with the names kustomize gave (namePrefix): the saved original has no stale references.
    expect(reviews.metadata?.annotations?.[ORIGINAL_ANNOTATION]).toContain('"serviceAccountName":"dev-bookinfo-reviews"');
    const plain = objects(build('plain', []).stdout);
    expect(exit(out)).toEqual(plain);
  });

  it('is deterministic across builds', () => {
    expect(build('overlay').stdout).toBe(build('overlay').stdout);
  });

  it('takes flags from the exec args', () => {
    const r = build('overlay-select');
    expect(r.code).toBe(0);
    expect(inDevMode(objects(r.stdout))).toEqual(['Deployment/dev-ratings-v1']);
  });

  it('fails the build with our message when the function fails', () => {
    const r = build('overlay-bad');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error: --select deployment/nope: no workload in the input matches');
    const bad = build('overlay-bad-config');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/error: invalid dev config: workloads\["deploy\/dev-reviews-v1"\]\.imagee \(line \d+\): unknown key "imagee"/);
  });

  it('needs both flags: without --enable-alpha-plugins kustomize fails; without --enable-exec it skips the function silently', () => {
    expect(build('overlay', []).stderr).toContain('external plugins disabled');
    const skipped = build('overlay', ['--enable-alpha-plugins']);
    expect(skipped.code).toBe(0);
    expect(inDevMode(objects(skipped.stdout))).toEqual([]);
  });

  it('the pipe form: kustomize build | kubectl-dev render, the same rewrite', () => {
    const plainText = build('plain', []).stdout;
    const piped = runCli(['render', '--select', 'deploy/dev-reviews-v1', '--image', 'node:24', '--env', 'LOG=debug'], { stdin: plainText });
    expect(piped.code).toBe(0);
    const fromFunction = named(objects(build('overlay').stdout), 'Deployment/dev-reviews-v1');
    const fromPipe = named(objects(piped.stdout), 'Deployment/dev-reviews-v1');
    expect(fromPipe).toEqual(fromFunction);
    expect(readFileSync(join(dir, 'base', 'bookinfo.yaml'), 'utf8')).toContain('reviews-v1');
  });
});
