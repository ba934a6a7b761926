// Persisted paths in the pure rewrite: the claim's volume, the init container, the mounts
// (subPath = the path), the work dir on the claim when listed, and the checks.
import { describe, expect, it } from 'vitest';
import { enter, enterWorkload } from '../../../src/core/enter.ts';
import { DevError } from '../../../src/core/errors.ts';
import { exit } from '../../../src/core/exit.ts';
import { workloadKindByName } from '../../../src/core/kinds.ts';
import { GENERATED_FOR_ANNOTATION, PERSIST_VOLUME, SIDECAR_CONTAINER, VOLUME_INIT_CONTAINER, WORKDIR_VOLUME, WORKLOAD_LABEL } from '../../../src/core/marks.ts';
import { persistentClaimName } from '../../../src/core/names.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { claimOptionProblems, DEFAULT_PERSIST_SIZE, persistentClaim, persistProblems, refusePersistOffline, subPathOf } from '../../../src/core/persist.ts';

const deployment = (name = 'web', mounts: unknown[] = []): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'team' },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { initContainers: [{ name: 'migrate', image: 'm' }], containers: [{ name: 'app', image: 'web:1', volumeMounts: mounts }] } } },
});
const kind = workloadKindByName('deployment')!;
const podSpecOf = (obj: KubeObject) => (obj.spec as any).template.spec;
const container = (obj: KubeObject, name: string) => podSpecOf(obj).containers.find((c: any) => c.name === name);

describe('persisted paths in the rewrite', () => {
  it('mounts one claim at each path through a subPath, made writable by an init container that runs first', () => {
    const [dev] = enterWorkload(deployment(), kind, { persist: ['/root/.npm', '/cache/go/'] });
    const spec = podSpecOf(dev!);
    expect(spec.volumes).toContainEqual({ name: PERSIST_VOLUME, persistentVolumeClaim: { claimName: persistentClaimName('Deployment', 'web') } });
    expect(spec.volumes).toContainEqual({ name: WORKDIR_VOLUME, emptyDir: {} });
    expect(container(dev!, 'app').volumeMounts).toEqual([
      { name: WORKDIR_VOLUME, mountPath: '/workspace' },
      { name: PERSIST_VOLUME, mountPath: '/cache/go', subPath: 'cache/go' },
      { name: PERSIST_VOLUME, mountPath: '/root/.npm', subPath: 'root/.npm' },
    ]);
    // The sidecar keeps the emptyDir work dir: only the dev container sees the caches.
    expect(container(dev!, SIDECAR_CONTAINER).volumeMounts[0]).toEqual({ name: WORKDIR_VOLUME, mountPath: '/workspace' });
    const [init, own] = spec.initContainers;
    expect(own.name).toBe('migrate');
    expect(init.name).toBe(VOLUME_INIT_CONTAINER);
    expect(init.command[2]).toContain("'/var/kubectl-dev/volume/root/.npm' '/var/kubectl-dev/volume/cache/go'");
    expect(init.securityContext).toMatchObject({ runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(init.volumeMounts).toEqual([{ name: PERSIST_VOLUME, mountPath: '/var/kubectl-dev/volume' }]);
  });

  it('a persisted work dir is the claim in both containers, and the emptyDir goes', () => {
    const [dev] = enterWorkload(deployment(), kind, { workdir: '/src', persist: ['/src/', '/root/.cache'] });
    const spec = podSpecOf(dev!);
    expect(spec.volumes.map((v: any) => v.name)).not.toContain(WORKDIR_VOLUME);
    for (const name of ['app', SIDECAR_CONTAINER]) expect(container(dev!, name).volumeMounts[0]).toEqual({ name: PERSIST_VOLUME, mountPath: '/src', subPath: 'src' });
    expect(container(dev!, 'app').volumeMounts).toHaveLength(2);
  });

  it('records the paths in the settings, and exit restores the workload exactly', () => {
    const source = deployment();
    const [dev] = enter([source], { targets: [{ kind, name: 'web' }], settings: { persist: ['/root/.npm'] } });
    expect(JSON.parse(dev!.metadata!.annotations!['dev.kubectl-dev.io/settings']!).persist).toEqual(['/root/.npm']);
    expect(exit([dev!])[0]).toEqual(source);
  });

  it('without persist nothing changes: no claim, no init container', () => {
    const [dev] = enterWorkload(deployment(), kind, {});
    expect(podSpecOf(dev!).initContainers).toEqual([{ name: 'migrate', image: 'm' }]);
    expect(JSON.stringify(dev)).not.toContain(PERSIST_VOLUME);
  });

  it('refuses a persisted path the container mounts already, and bad paths', () => {
    expect(() => enterWorkload(deployment('web', [{ name: 'cache', mountPath: '/root/.npm/' }]), kind, { persist: ['/root/.npm'] })).toThrow(/already mounts volume "cache" at \/root\/.npm, a persisted path/);
    for (const bad of ['relative', '/', '/a/../b', '/a//b']) {
      expect(() => enterWorkload(deployment(), kind, { persist: [bad] }), bad).toThrow(DevError);
    }
    expect(persistProblems(['/a', '/a/'])).toEqual(['persist path "/a/" is listed twice']);
    expect(persistProblems(['/a', '/b/c'])).toEqual([]);
  });

  it('refuses a pod that has the init container name already', () => {
    const taken = deployment();
    podSpecOf(taken).initContainers.push({ name: VOLUME_INIT_CONTAINER, image: 'x' });
    expect(() => enterWorkload(taken, kind, { persist: ['/c'] })).toThrow(/already has a container named "kubectl-dev-volume"/);
    expect(() => enterWorkload(taken, kind, {})).not.toThrow();
  });

  it('quotes paths for the init script', () => {
    const [dev] = enterWorkload(deployment(), kind, { persist: ["/it's here"] });
    expect(podSpecOf(dev!).initContainers[0].command[2]).toContain(`'/var/kubectl-dev/volume/it'\\''s here'`);
  });
});

describe('the claim', () => {
  it('is labelled for its workload, named back to it, owned by nobody; default size and class', () => {
    const claim = persistentClaim('web-deployment-dev-persist', 'team', { ref: 'Deployment/web', label: 'deployment.web' }, {});
    expect(claim).toEqual({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: 'web-deployment-dev-persist', namespace: 'team', labels: { [WORKLOAD_LABEL]: 'deployment.web' }, annotations: { [GENERATED_FOR_ANNOTATION]: 'Deployment/web' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: DEFAULT_PERSIST_SIZE } } },
    });
    expect(persistentClaim('c', 'team', { ref: 'Deployment/web', label: 'l' }, { size: '20Gi', storageClass: 'fast' }).spec).toMatchObject({ resources: { requests: { storage: '20Gi' } }, storageClassName: 'fast' });
  });

  it('has a bounded, stable name', () => {
    const long = 'x'.repeat(80);
    expect(persistentClaimName('Deployment', long).length).toBeLessThanOrEqual(63);
    expect(persistentClaimName('Deployment', long)).toBe(persistentClaimName('Deployment', long));
    expect(persistentClaimName('Deployment', long)).not.toBe(persistentClaimName('StatefulSet', long));
    expect(subPathOf('/workspace/')).toBe('workspace');
  });

  it('checks size and class', () => {
    expect(claimOptionProblems({ size: '5Gi', storageClass: 'standard' })).toEqual([]);
    expect(claimOptionProblems({ size: 'lots', storageClass: 'Not_A_Name' })).toHaveLength(2);
    expect(claimOptionProblems({ size: '0' })).toHaveLength(1);
  });

  it('render refuses persisted paths from its flags or dev config', async () => {
    const { render } = await import('../../../src/render/index.ts');
    const { parseDevConfig } = await import('../../../src/config/devconfig.ts');
    const text = JSON.stringify(deployment());
    expect(render(text, { selects: [{ kind, name: 'web' }], settings: { persist: ['/c'] } }).error?.message).toMatch(/render \(deployment\/web\) cannot persist \/c/);
    expect(render(text, { config: parseDevConfig('workloads:\n  deploy/web:\n    persist: [/c]\n', 'f.yaml') }).error?.message).toMatch(/cannot persist/);
    expect(render(text, { selects: [{ kind, name: 'web' }] }).error).toBeUndefined();
  });

  it('render and --local refuse persisted paths', () => {
    expect(() => refusePersistOffline(['/c'], 'render')).toThrow(/render cannot persist \/c/);
    expect(() => refusePersistOffline(undefined, 'render')).not.toThrow();
  });
});
