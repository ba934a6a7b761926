// `helm template` with kubectl-dev as the post-renderer, with the real Helm 3.17
// (executable post-renderer) and Helm 4.1 (the postrenderer/v1 plugin in plugin/),
// on two charts of ours: bookinfo wrapped in a chart, and "shop" (a Deployment, a
// CronJob, a hook and NOTES). No cluster needed.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exit } from '../../src/core/exit.ts';
import { parseManifests } from '../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../src/core/marks.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { CHARTS, helmSetup, mustRun, run, withoutHelmComments, type HelmSetup } from './render-support.ts';
import { runCli } from './run-cli.ts';

const objects = (text: string) => parseManifests(text, 'helm').map((p) => p.object);
const ref = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;
const named = (list: KubeObject[], r: string) => list.find((o) => ref(o) === r)!;
const inDevMode = (list: KubeObject[]) => list.filter((o) => o.metadata?.labels?.['dev.kubectl-dev.io/dev-mode'] === 'true').map(ref);

describe.each([3, 4] as const)('Helm %i post-renderer', (major) => {
  let helm: HelmSetup;
  const SHOP = join(CHARTS, 'shop');
  const BOOKINFO = join(CHARTS, 'bookinfo');
  const template = (chart: string, renderArgs: readonly string[] | undefined, extra: readonly string[] = [], env?: NodeJS.ProcessEnv) =>
    run(helm.bin, ['template', 'demo', chart, ...extra, ...(renderArgs ? helm.postRenderer(renderArgs) : [])], { env: env ?? helm.env });
  const templateOk = (chart: string, renderArgs: readonly string[] | undefined, extra: readonly string[] = []) => {
    const r = template(chart, renderArgs, extra);
    if (r.code !== 0) throw new Error(`helm ${major} template failed (${r.code}):\n${r.stderr}`);
    return r.stdout;
  };

  beforeAll(() => {
    helm = helmSetup(major);
    expect(mustRun(helm.bin, ['version', '--short'], { env: helm.env })).toMatch(major === 3 ? /^v3\.17\./ : /^v4\.1\./);
  });

  it('puts the selected Deployment in dev mode; everything else, the hook included, stays as the chart rendered it', () => {
    const plain = objects(templateOk(SHOP, undefined));
    const dev = objects(templateOk(SHOP, ['--select=deployment/demo-shop', '--image=node:24']));
    expect(inDevMode(dev)).toEqual(['Deployment/demo-shop']);
    expect(dev.map(ref).sort()).toEqual(plain.map(ref).sort());
    for (const o of plain) if (ref(o) !== 'Deployment/demo-shop') expect(named(dev, ref(o))).toEqual(o);
    expect(named(dev, 'Job/demo-migrate').metadata?.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    // Helm 4 removes its file annotation after regrouping; the saved original never had it.
    const shop = named(dev, 'Deployment/demo-shop');
    expect(Object.keys(shop.metadata?.annotations ?? {}).filter((k) => k.startsWith('postrenderer.helm.sh'))).toEqual([]);
    expect(exit([shop])).toEqual([named(plain, 'Deployment/demo-shop')]);
  });

  it('selects the CronJob: suspended, with its dev Job next to it', () => {
    const dev = objects(templateOk(SHOP, ['--select=cj/demo-report']));
    expect(named(dev, 'CronJob/demo-report').spec).toMatchObject({ suspend: true });
    expect(named(dev, 'Job/demo-report-dev').metadata?.annotations?.['dev.kubectl-dev.io/generated-for']).toBe('CronJob/demo-report');
    expect(exit(dev).map(ref).sort()).toEqual(objects(templateOk(SHOP, undefined)).map(ref).sort());
  });

  it('selects through values: the opt-in annotation, no --select', () => {
    const dev = objects(templateOk(SHOP, [], ['--set', 'dev=true']));
    expect(inDevMode(dev)).toEqual(['Deployment/demo-shop']);
    expect(named(dev, 'Deployment/demo-shop').metadata?.annotations?.['dev.kubectl-dev.io/enabled']).toBe('true');
  });

  it('passes the chart through when nothing is selected', () => {
    // Helm 3 prints what the post-renderer wrote; Helm 4 re-serialises it (spacing before comments).
    if (major === 3) expect(templateOk(SHOP, [])).toBe(templateOk(SHOP, undefined));
    else expect(objects(templateOk(SHOP, []))).toEqual(objects(templateOk(SHOP, undefined)));
  });

  it('bookinfo: the same objects as the pipe form and as start --local, and the same bytes every time', () => {
    const args = ['--select=deploy/reviews-v1', '--select=deploy/ratings-v1', '--image=node:24'];
    const viaHelm = templateOk(BOOKINFO, args);
    expect(templateOk(BOOKINFO, args)).toBe(viaHelm);
    const plain = templateOk(BOOKINFO, undefined);
    const piped = runCli(['render', ...args], { stdin: plain });
    expect(piped.code).toBe(0);
    expect(objects(viaHelm)).toEqual(objects(piped.stdout));
    // Helm 3 hands the post-renderer its # Source: comments and prints our output as is.
    if (major === 3) expect(viaHelm).toBe(piped.stdout);
    const dir = mkdtempSync(join(tmpdir(), 'helm-plain-'));
    const file = join(dir, 'plain.yaml');
    writeFileSync(file, plain);
    const local = runCli(['start', '--local', '-f', file, 'deploy/reviews-v1', '--image=node:24']);
    const again = runCli(['start', '--local', '-f', '-', 'deploy/ratings-v1', '--image=node:24'], { stdin: local.stdout });
    expect(objects(again.stdout)).toEqual(objects(viaHelm));
    expect(inDevMode(objects(viaHelm))).toEqual(['Deployment/ratings-v1', 'Deployment/reviews-v1']);
    expect(withoutHelmComments(viaHelm)).toContain(ORIGINAL_ANNOTATION);
  });

  it('a failing render fails the helm command', () => {
    const log = join(mkdtempSync(join(tmpdir(), 'helm-log-')), 'render.log');
    const r = template(SHOP, ['--select=deploy/nope'], [], { ...helm.env, KUBECTL_DEV_RENDER_LOG: log });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    if (major === 3) {
      // Helm 3 shows the post-renderer's stderr.
      expect(r.stderr).toContain('error: --select deployment/nope: no workload in the input matches');
    } else {
      // Helm 4 hides it: the log file (and --debug's exit code) tell what happened.
      expect(r.stderr).toContain('plugin "kubectl-dev" exited with error');
      expect(readFileSync(log, 'utf8')).toContain('error: --select deployment/nope: no workload in the input matches');
      const debug = template(SHOP, ['--select=deploy/nope'], ['--debug']);
      expect(debug.stderr).toMatch(/command=".*kubectl-dev render --select=deploy\/nope"/);
      expect(debug.stderr).toContain('exitCode=3');
    }
  });

  it('hooks: Helm 4 passes them through the post-renderer, and selecting one is refused; Helm 3 never shows them', () => {
    const log = join(mkdtempSync(join(tmpdir(), 'helm-log-')), 'render.log');
    const r = template(SHOP, ['--select=job/demo-migrate'], [], { ...helm.env, KUBECTL_DEV_RENDER_LOG: log });
    expect(r.code).not.toBe(0);
    expect(readFileSync(log, 'utf8')).toContain(major === 4
      ? 'error: job/demo-migrate is a Helm hook (helm.sh/hook: pre-install,pre-upgrade); dev mode leaves hooks as they are'
      : 'error: --select job/demo-migrate: no workload in the input matches');
  });
});
