// The seed document (Nocalhost's "各种工作负载 DevMode 支持") shows bookinfo `reviews`
// before and after dev mode. With the seed's own choices (dev image, work dir, container
// name) our rewrite must produce the same dev container and sidecar, except for the
// deviations documented in docs/dev-mode.md, each asserted here.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enter } from '../../../src/core/enter.ts';
import { parseManifests } from '../../../src/core/manifests.ts';
import { FIXTURES_DIR, loadFixture } from '../../fixtures.ts';

type Obj = Record<string, any>;

const fixture = loadFixture('bookinfo-reviews-seed');
const ours = enter(fixture.input.map((p) => p.object), fixture.options)[0] as Obj;
const seedAfter = parseManifests(readFileSync(join(FIXTURES_DIR, 'bookinfo-reviews-seed', 'seed-after.yaml'), 'utf8'), 'seed-after.yaml')[0]!.object as Obj;

const podSpec = (o: Obj) => o.spec.template.spec;
const container = (o: Obj, name: string) => podSpec(o).containers.find((c: Obj) => c.name === name);

describe('the seed example (bookinfo reviews)', () => {
  it('sets replicas to 1 and keeps the rest of the Deployment spec', () => {
    expect(ours.spec.replicas).toBe(seedAfter.spec.replicas);
    for (const key of ['progressDeadlineSeconds', 'revisionHistoryLimit', 'selector', 'strategy']) {
      expect(ours.spec[key]).toEqual(seedAfter.spec[key]);
    }
  });

  it('turns reviews into the dev container exactly as the seed does', () => {
    const mine = container(ours, 'nocalhost-dev');
    const seed = container(seedAfter, 'nocalhost-dev');
    for (const key of ['image', 'env', 'imagePullPolicy', 'ports', 'resources', 'terminationMessagePath', 'terminationMessagePolicy', 'workingDir']) {
      expect(mine[key], key).toEqual(seed[key]);
    }
    expect(mine.readinessProbe).toBeUndefined();
    expect(seed.readinessProbe).toBeUndefined();
    expect(mine.args).toBeUndefined();
  });

  it("keeps the pod's own volumes and mounts and adds an emptyDir at the work dir", () => {
    const mine = container(ours, 'nocalhost-dev');
    expect(mine.volumeMounts.slice(0, 2)).toEqual(container(seedAfter, 'nocalhost-dev').volumeMounts.slice(0, 2));
    const workMount = mine.volumeMounts.find((m: Obj) => m.mountPath === '/home/nocalhost-dev');
    const workVolume = podSpec(ours).volumes.find((v: Obj) => v.name === workMount.name);
    expect(workVolume).toEqual({ name: workMount.name, emptyDir: {} });
    expect(podSpec(ours).volumes.slice(0, 2)).toEqual(podSpec(seedAfter).volumes.slice(0, 2));
  });

  it('adds a sync sidecar with the seed resources, sharing the work dir', () => {
    const sidecars = podSpec(ours).containers.filter((c: Obj) => c.name !== 'nocalhost-dev');
    expect(sidecars).toHaveLength(1);
    const sidecar = sidecars[0];
    expect(sidecar.resources).toEqual(container(seedAfter, 'nocalhost-sidecar').resources);
    expect(sidecar.volumeMounts.map((m: Obj) => m.mountPath)).toContain('/home/nocalhost-dev');
    expect(sidecar.command.join(' ')).toMatch(/syncthing .*--home/);
  });

  it('mounts the syncthing Secret in the sidecar with config.xml, cert.pem and key.pem, never world-readable', () => {
    const secretVolume = podSpec(ours).volumes.find((v: Obj) => v.secret);
    const seedSecret = podSpec(seedAfter).volumes.find((v: Obj) => v.secret);
    expect(secretVolume.secret.items.map((i: Obj) => i.key)).toEqual(seedSecret.secret.items.map((i: Obj) => i.key));
    for (const mode of [secretVolume.secret.defaultMode, ...secretVolume.secret.items.map((i: Obj) => i.mode)]) {
      expect(mode & 0o007).toBe(0);
    }
  });

  it('saves the original so that it can be restored (the seed saves the spec; we save labels, annotations and spec)', () => {
    const saved = JSON.parse(ours.metadata.annotations['dev.kubectl-dev.io/original']);
    expect(saved.spec).toEqual(fixture.input[0]!.object.spec);
    expect(JSON.parse(seedAfter.metadata.annotations['nocalhost.origin.spec.json'])).toEqual(
      JSON.parse(JSON.stringify(saved.spec).replace('"metadata":{"labels"', '"metadata":{"creationTimestamp":null,"labels"')),
    );
  });

  describe('documented deviations from the seed', () => {
    it('the Secret is mounted only in the sidecar, not in the dev container (the app never sees sync keys)', () => {
      const devMounts = container(ours, 'nocalhost-dev').volumeMounts.map((m: Obj) => m.mountPath);
      expect(devMounts.some((p: string) => p.includes('syncthing'))).toBe(false);
      expect(container(seedAfter, 'nocalhost-dev').volumeMounts.some((m: Obj) => m.mountPath.includes('syncthing'))).toBe(true);
    });

    it('the Secret volume is optional and 0440 instead of 0700, so the pod starts before the Secret exists and a non-root sidecar reads it', () => {
      const secretVolume = podSpec(ours).volumes.find((v: Obj) => v.secret);
      expect(secretVolume.secret.optional).toBe(true);
      expect(secretVolume.secret.defaultMode).toBe(0o440);
    });

    it("the dev container's blocking PID 1 is the seed's tail -f /dev/null behind a trap, so that it ends on SIGTERM", () => {
      const seedCommand = container(seedAfter, 'nocalhost-dev').command;
      expect(seedCommand).toEqual(['/bin/sh', '-c', 'tail -f /dev/null']);
      expect(container(ours, 'nocalhost-dev').command).toEqual(['/bin/sh', '-c', `trap 'kill $! 2>/dev/null; exit 0' TERM INT; ${seedCommand[2]} & wait`]);
    });

    it("syncthing's GUI/REST stays off the pod network: the seed unsets the image's STGUIADDRESS, we set it and --gui-address to 127.0.0.1", () => {
      expect(container(seedAfter, 'nocalhost-sidecar').args[0]).toMatch(/^unset STGUIADDRESS && /);
      const sidecar = podSpec(ours).containers.find((c: Obj) => c.name === 'kubectl-dev-sync');
      expect(sidecar.command[2]).toContain(' --gui-address=127.0.0.1:8384 ');
      expect(sidecar.env).toContainEqual({ name: 'STGUIADDRESS', value: '127.0.0.1:8384' });
    });

    it('the sidecar uses the pinned public syncthing image and runs as a non-root user', () => {
      const sidecar = podSpec(ours).containers.find((c: Obj) => c.name === 'kubectl-dev-sync');
      expect(sidecar.image).toMatch(/^docker\.io\/syncthing\/syncthing:\d+\.\d+\.\d+$/);
      expect(sidecar.securityContext.runAsNonRoot).toBe(true);
    });

    it('names are prefixed kubectl-dev- and the container keeps its name unless renamed (here renamed as the seed does)', () => {
      expect(podSpec(ours).volumes.slice(2).every((v: Obj) => v.name.startsWith('kubectl-dev-'))).toBe(true);
      expect(ours.metadata.annotations['dev.kubectl-dev.io/dev-container']).toBe('nocalhost-dev');
    });
  });
});
