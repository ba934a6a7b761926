// The ConfigMap and Secret files a container sees, laid out as the kubelet mounts them.

import { describe, expect, it } from 'vitest';
import { mountedFiles, type MountedFilesInput } from '../../../src/core/mounted-files.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const input = (extra: Partial<MountedFilesInput> = {}): MountedFilesInput => ({
  pod: {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
    spec: {
      volumes: [
        { name: 'config', configMap: { name: 'app' } },
        { name: 'picked', configMap: { name: 'app', items: [{ key: 'app.yaml', path: 'conf/main.yaml' }] } },
        { name: 'creds', secret: { secretName: 'db' } },
        { name: 'both', projected: { sources: [{ configMap: { name: 'app', items: [{ key: 'logo.png', path: 'logo.png' }] } }, { secret: { name: 'db', items: [{ key: 'password', path: 'pw' }] } }] } },
        { name: 'maybe', configMap: { name: 'absent', optional: true } },
        { name: 'needed', configMap: { name: 'absent-too' } },
        { name: 'scratch', emptyDir: {} },
      ],
      containers: [{ name: 'web', image: 'x', volumeMounts: [
        { name: 'config', mountPath: '/etc/app' },
        { name: 'picked', mountPath: '/etc/main.yaml', subPath: 'conf/main.yaml' },
        { name: 'creds', mountPath: '/run/secrets/db/' },
        { name: 'both', mountPath: '/srv' },
        { name: 'maybe', mountPath: '/opt/maybe' },
        { name: 'needed', mountPath: '/opt/needed' },
        { name: 'scratch', mountPath: '/tmp' },
      ] }],
    },
  },
  container: 'web',
  configMaps: { app: { files: { 'app.yaml': bytes('port: 8080\n'), 'logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff]) } } },
  secrets: { db: { files: { password: bytes('s3cret') } } },
  withSecrets: false,
  ...extra,
});

describe('mountedFiles', () => {
  it('lays out whole volumes, items, subPath mounts and projected sources; Secret files withheld', () => {
    const r = mountedFiles(input());
    expect(r.files.map((f) => [f.path, f.secret])).toEqual([
      ['/etc/app/app.yaml', false], ['/etc/app/logo.png', false], ['/etc/main.yaml', false], ['/srv/logo.png', false],
    ]);
    expect(text(r.files.find((f) => f.path === '/etc/main.yaml')!.content)).toBe('port: 8080\n');
    expect([...r.files.find((f) => f.path === '/srv/logo.png')!.content]).toEqual([0x89, 0x50, 0x4e, 0x47, 0xff]);
    expect(r.withheld).toEqual(['/run/secrets/db (Secret db)', '/srv/pw']);
    expect(r.problems).toEqual(['ConfigMap absent-too not found']);
  });

  it('with secrets: their files too, marked as secret', () => {
    const r = mountedFiles(input({ withSecrets: true }));
    expect(r.files.filter((f) => f.secret).map((f) => [f.path, text(f.content)])).toEqual([['/run/secrets/db/password', 's3cret'], ['/srv/pw', 's3cret']]);
    expect(r.withheld).toEqual([]);
  });

  it('a missing key of a required source is a problem', () => {
    const r = mountedFiles(input({ configMaps: { app: { files: { 'logo.png': bytes('x') } } } }));
    expect(r.problems).toContain('ConfigMap app has no key app.yaml');
  });
});
