import { describe, expect, it } from 'vitest';
import { SETTINGS_ANNOTATION, WORKLOAD_LABEL } from '../../../src/core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../../../src/core/names.ts';
import { parseConfigXml } from '../../../src/sync/config.ts';
import { generateIdentity, randomGuiCredentials } from '../../../src/sync/identity.ts';
import { buildSyncSecret, prepareSyncSecret, readSyncSecret, workdirOf, type SyncIdentities } from '../../../src/sync/secret.ts';

const ids: SyncIdentities = { sidecar: generateIdentity(), local: generateIdentity(), apiKey: 'A'.repeat(32), gui: randomGuiCredentials() };
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const workload = (workdir?: string) => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', annotations: (workdir ? { [SETTINGS_ANNOTATION]: JSON.stringify({ workdir }) } : {}) as Record<string, string> },
});

describe('the sync Secret', () => {
  it('holds the sidecar config, cert and key, and the laptop identity, named and labelled for the workload', () => {
    const secret = buildSyncSecret({ kind: 'Deployment', name: 'web', namespace: 'shop', workdir: '/src' }, ids);
    expect(secret.metadata.name).toBe(syncSecretName('Deployment', 'web'));
    expect(secret.metadata.namespace).toBe('shop');
    expect(secret.metadata.labels[WORKLOAD_LABEL]).toBe(workloadLabelValue('Deployment', 'web'));
    expect(secret.type).toBe('Opaque');
    expect(Object.keys(secret.data).sort()).toEqual(['cert.pem', 'config.xml', 'key.pem', 'local-cert.pem', 'local-key.pem']);
    expect(decode(secret.data['cert.pem']!)).toBe(ids.sidecar.certPem);
    expect(decode(secret.data['key.pem']!)).toBe(ids.sidecar.keyPem);
    const cfg = parseConfigXml(decode(secret.data['config.xml']!));
    expect(cfg).toMatchObject({ folderPath: '/src', apiKey: ids.apiKey, listenAddress: 'tcp://127.0.0.1:22000', guiAddress: '127.0.0.1:8384' });
    expect(cfg.deviceIds.sort()).toEqual([ids.local.deviceId, ids.sidecar.deviceId].sort());
    // The sidecar's GUI has a user and a password hash: a CSRF cookie does not unlock its REST API.
    expect(cfg).toMatchObject({ guiUser: ids.gui.user, guiPasswordHash: ids.gui.passwordHash });
    expect(readSyncSecret(secret).guiLocked).toBe(true);
  });

  it('reads back what the laptop needs', () => {
    const material = readSyncSecret(buildSyncSecret({ kind: 'Deployment', name: 'web', workdir: '/src' }, ids));
    expect(material).toMatchObject({
      sidecarDeviceId: ids.sidecar.deviceId, localDeviceId: ids.local.deviceId, localCertPem: ids.local.certPem, localKeyPem: ids.local.keyPem,
      remoteApiKey: ids.apiKey, folderId: 'kubectl-dev', workdir: '/src',
    });
  });

  it('refuses a Secret with missing keys or a config for other certificates', () => {
    const secret = buildSyncSecret({ kind: 'Deployment', name: 'web', workdir: '/src' }, ids);
    const { ['local-key.pem']: _, ...partial } = secret.data;
    expect(() => readSyncSecret({ ...secret, data: partial })).toThrow(/has no local-key\.pem/);
    const other = generateIdentity();
    const swapped = { ...secret, data: { ...secret.data, 'cert.pem': Buffer.from(other.certPem).toString('base64') } };
    expect(() => readSyncSecret(swapped)).toThrow(expect.objectContaining({ code: 'SYNC_SECRET_INVALID' }));
  });

  it('takes the work dir from the settings annotation, else the default', () => {
    expect(workdirOf(workload('/app'))).toBe('/app');
    expect(workdirOf(workload())).toBe('/workspace');
    const prepared = prepareSyncSecret({ workload: workload('/app'), kind: 'Deployment', generate: () => ids });
    expect(prepared.reused).toBe(false);
    expect(parseConfigXml(decode(prepared.secret.data['config.xml']!)).folderPath).toBe('/app');
    expect(prepared.secret.metadata.namespace).toBe('shop');
  });

  it('reuses a valid existing Secret for the same work dir, and replaces one for another', () => {
    const existing = buildSyncSecret({ kind: 'Deployment', name: 'web', namespace: 'shop', workdir: '/app' }, ids);
    let generated = 0;
    const generate = () => {
      generated++;
      return { ...ids, apiKey: 'B'.repeat(32) };
    };
    const same = prepareSyncSecret({ workload: workload('/app'), kind: 'Deployment', existing, generate });
    expect(same.reused).toBe(true);
    expect(same.secret.data).toEqual(existing.data);
    expect(generated).toBe(0);
    const moved = prepareSyncSecret({ workload: workload('/elsewhere'), kind: 'Deployment', existing, generate });
    expect(moved.reused).toBe(false);
    expect(generated).toBe(1);
    const broken = prepareSyncSecret({ workload: workload('/app'), kind: 'Deployment', existing: { metadata: { name: 'x' }, data: {} }, generate });
    expect(broken.reused).toBe(false);
  });

  it('replaces a Secret made before the sidecar\'s GUI had a user and password (its REST API let a CSRF cookie in)', () => {
    const existing = buildSyncSecret({ kind: 'Deployment', name: 'web', namespace: 'shop', workdir: '/app' }, ids);
    const xml = decode(existing.data['config.xml']!).replace(/\s*<user>[^<]*<\/user>\s*<password>[^<]*<\/password>/, '');
    const old = { ...existing, data: { ...existing.data, 'config.xml': Buffer.from(xml).toString('base64') } };
    expect(readSyncSecret(old).guiLocked).toBe(false);
    const prepared = prepareSyncSecret({ workload: workload('/app'), kind: 'Deployment', existing: old, generate: () => ids });
    expect(prepared.reused).toBe(false);
    expect(parseConfigXml(decode(prepared.secret.data['config.xml']!)).guiUser).toBe(ids.gui.user);
  });
});
