import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_VERSION, configXml, localConfig, parseConfigXml, sidecarConfig, FOLDER_ID } from '../../../src/sync/config.ts';
import { generateIdentity, randomApiKey, randomGuiCredentials } from '../../../src/sync/identity.ts';

const GUI = { user: 'kubectl-dev-test', passwordHash: `$2a$10$${'a'.repeat(53)}` };
import { snapshot, summarize } from '../../../src/sync/status.ts';
import { freePort, startSyncthing, tempDir } from './support.ts';

const sidecarId = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
const localId = 'MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD';

describe('sidecar config.xml', () => {
  const xml = configXml(sidecarConfig({ sidecarDeviceId: sidecarId, localDeviceId: localId, apiKey: 'KEY123', gui: GUI, workdir: '/workspace', syncPort: 22000, apiPort: 8384 }));

  it('listens on 127.0.0.1 only, for sync and for the GUI/REST API with the API key', () => {
    expect(xml).toContain('<listenAddress>tcp://127.0.0.1:22000</listenAddress>');
    expect(xml).toMatch(/<gui enabled="true" tls="false"[^>]*>\s*<address>127\.0\.0\.1:8384<\/address>\s*<user>kubectl-dev-test<\/user>\s*<password>\$2a\$10\$a{53}<\/password>\s*<apikey>KEY123<\/apikey>/);
    expect(xml).not.toMatch(/0\.0\.0\.0|default<\/listenAddress>|dynamic\+|quic:/);
  });

  it('turns off discovery, relays, NAT, usage reporting, crash reporting and upgrades', () => {
    for (const off of ['globalAnnounceEnabled', 'localAnnounceEnabled', 'relaysEnabled', 'natEnabled', 'crashReportingEnabled', 'startBrowser']) {
      expect(xml).toContain(`<${off}>false</${off}>`);
    }
    expect(xml).toContain('<urAccepted>-1</urAccepted>');
    expect(xml).toContain('<autoUpgradeIntervalH>0</autoUpgradeIntervalH>');
  });

  it('shares one receive-only folder at the work dir with the local device only', () => {
    const parsed = parseConfigXml(xml);
    expect(parsed).toMatchObject({ apiKey: 'KEY123', folderId: FOLDER_ID, folderPath: '/workspace', folderType: 'receiveonly', guiAddress: '127.0.0.1:8384' });
    expect(parsed.deviceIds.sort()).toEqual([localId, sidecarId].sort());
    expect(xml.match(/<folder /g)).toHaveLength(1);
    expect(xml).toContain(`<configuration version="${CONFIG_VERSION}">`);
    expect(xml).toContain('ignorePerms="true"');
  });

  it('escapes XML in paths', () => {
    const odd = configXml(sidecarConfig({ sidecarDeviceId: sidecarId, localDeviceId: localId, apiKey: 'k', gui: GUI, workdir: '/w/a&b"<c>', syncPort: 1, apiPort: 2 }));
    expect(odd).toContain('path="/w/a&amp;b&quot;&lt;c&gt;"');
    expect(parseConfigXml(odd).folderPath).toBe('/w/a&b"<c>');
  });

  it('refuses a fractional or zero watcher delay (syncthing 1.19 reads an integer ≥ 1)', () => {
    const c = sidecarConfig({ sidecarDeviceId: sidecarId, localDeviceId: localId, apiKey: 'k', gui: GUI, workdir: '/w', syncPort: 1, apiPort: 2 });
    expect(() => configXml({ ...c, folder: { ...c.folder, fsWatcherDelayS: 0.1 } })).toThrow(/integer/);
    expect(() => configXml({ ...c, folder: { ...c.folder, fsWatcherDelayS: 0 } })).toThrow(/integer/);
  });
});

describe('local config.xml', () => {
  const base = {
    localDeviceId: localId, sidecarDeviceId: sidecarId, apiKey: 'L', gui: GUI, localDir: '/home/dev/app', guiAddress: '127.0.0.1:4000',
    listenAddress: 'tcp://127.0.0.1:4001', sidecarAddress: 'tcp://127.0.0.1:4002',
  };

  it('is send-only by default, with "." as marker so nothing is created in the folder', () => {
    const xml = configXml(localConfig({ ...base, type: 'sendonly', fsWatcherEnabled: false }));
    expect(parseConfigXml(xml)).toMatchObject({ folderType: 'sendonly', folderPath: '/home/dev/app', listenAddress: 'tcp://127.0.0.1:4001' });
    expect(xml).toContain('<markerName>.</markerName>');
    expect(xml).toContain('fsWatcherEnabled="false"');
    expect(xml).toContain('rescanIntervalS="3600"');
    expect(xml).toMatch(new RegExp(`<device id="${sidecarId}"[^>]*>\\s*<address>tcp://127\\.0\\.0\\.1:4002</address>`));
  });

  it('can be two-way and use syncthing’s watcher', () => {
    const xml = configXml(localConfig({ ...base, type: 'sendreceive', fsWatcherEnabled: true, fsWatcherDelayS: 1 }));
    expect(xml).toContain('type="sendreceive"');
    expect(xml).toContain('fsWatcherEnabled="true" fsWatcherDelayS="1"');
  });
});

describe('the real syncthing loads both configs as written', () => {
  const dirs: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('sidecar and local', async () => {
    const sidecar = generateIdentity();
    const local = generateIdentity();
    const root = tempDir('st-cfg');
    dirs.push(root);
    const [syncPort, apiPort, guiPort] = [await freePort(), await freePort(), await freePort()];
    const homes = { sidecar: path.join(root, 'sidecar'), local: path.join(root, 'local') };
    const work = path.join(root, 'work');
    const src = path.join(root, 'src');
    for (const d of [...Object.values(homes), work, src]) fs.mkdirSync(d);
    const sideKey = randomApiKey();
    fs.writeFileSync(path.join(homes.sidecar, 'config.xml'), configXml(sidecarConfig({ sidecarDeviceId: sidecar.deviceId, localDeviceId: local.deviceId, apiKey: sideKey, gui: randomGuiCredentials(), workdir: work, syncPort, apiPort })));
    fs.writeFileSync(path.join(homes.local, 'config.xml'), configXml(localConfig({
      localDeviceId: local.deviceId, sidecarDeviceId: sidecar.deviceId, apiKey: randomApiKey(), gui: randomGuiCredentials(), localDir: src, guiAddress: `127.0.0.1:${guiPort}`,
      sidecarAddress: `tcp://127.0.0.1:${syncPort}`, type: 'sendonly', fsWatcherEnabled: false,
    })));
    for (const [home, id] of [[homes.sidecar, sidecar], [homes.local, local]] as const) {
      fs.writeFileSync(path.join(home, 'cert.pem'), id.certPem);
      fs.writeFileSync(path.join(home, 'key.pem'), id.keyPem);
    }
    const s = await startSyncthing(homes.sidecar);
    stops.push(s.stop);
    const l = await startSyncthing(homes.local);
    stops.push(l.stop);

    const sideCfg = await s.rest.request<any>('GET', '/rest/config');
    expect(sideCfg.options.listenAddresses).toEqual([`tcp://127.0.0.1:${syncPort}`]);
    expect(sideCfg.options).toMatchObject({ globalAnnounceEnabled: false, localAnnounceEnabled: false, relaysEnabled: false, natEnabled: false, urAccepted: -1, autoUpgradeIntervalH: 0 });
    expect(sideCfg.gui.address).toBe(`127.0.0.1:${apiPort}`);
    expect(sideCfg.folders).toHaveLength(1);
    expect(sideCfg.folders[0]).toMatchObject({ id: FOLDER_ID, path: work, type: 'receiveonly', ignorePerms: true });
    expect(sideCfg.devices.map((d: any) => d.deviceID).sort()).toEqual([local.deviceId, sidecar.deviceId].sort());
    expect((await s.rest.status()).myID).toBe(sidecar.deviceId);

    const localCfg = await l.rest.request<any>('GET', '/rest/config');
    expect(localCfg.folders[0]).toMatchObject({ type: 'sendonly', markerName: '.', fsWatcherEnabled: false, rescanIntervalS: 3600 });
    // The local side only dials: no listener (not syncthing's default 0.0.0.0:22000 either).
    // (an empty element: "no listeners", syncthing's own convention)
    expect(localCfg.options.listenAddresses).toEqual(['']);
    const localStatus = await l.rest.request<any>('GET', '/rest/system/status');
    expect(Object.keys(localStatus.connectionServiceStatus ?? {})).toEqual([]);
    const sideStatus = await s.rest.request<any>('GET', '/rest/system/status');
    expect(Object.keys(sideStatus.connectionServiceStatus ?? {})).toEqual([`tcp://127.0.0.1:${syncPort}`]);
    expect((await l.rest.status()).myID).toBe(local.deviceId);

    // They connect, and the folder is healthy without a .stfolder in the local dir.
    await expect.poll(async () => (await l.rest.connections()).connections[sidecar.deviceId]?.connected, { timeout: 20_000 }).toBe(true);
    expect((await l.rest.dbStatus(FOLDER_ID)).error ?? '').toBe('');
    expect(fs.readdirSync(src)).toEqual([]);
    // A wrong API key is refused.
    const wrong = await fetch(`http://127.0.0.1:${apiPort}/rest/system/status`, { headers: { 'X-API-Key': 'nope' } });
    // (401 from 1.19 once the GUI has a user, 403 from later versions)
    expect([401, 403]).toContain(wrong.status);

    // What the initial copy's early connection relies on (session.ts, connectEarly): the local
    // scan runs with the sidecar device paused; then, with the local folder paused, the device
    // connects but the sidecar gets no index, and the state reads "syncing"; once the folder
    // is resumed, the index goes over the same connection.
    const connected = async () => (await l.rest.connections()).connections[sidecar.deviceId]?.connected === true;
    await l.rest.pauseDevice(sidecar.deviceId);
    await expect.poll(connected, { timeout: 10_000 }).toBe(false);
    fs.writeFileSync(path.join(src, 'a.txt'), 'a');
    fs.writeFileSync(path.join(src, 'b.txt'), 'b');
    await l.rest.scan(FOLDER_ID);
    await l.rest.patchFolder(FOLDER_ID, { paused: true });
    await l.rest.resumeDevice(sidecar.deviceId);
    await expect.poll(connected, { timeout: 20_000 }).toBe(true);
    const held = await snapshot({ local: l.rest, remote: s.rest, folderId: FOLDER_ID, sidecarDeviceId: sidecar.deviceId });
    expect(held).toMatchObject({ localUp: true, localPaused: true });
    expect(summarize(held)).toMatchObject({ state: 'syncing', errors: [] });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await connected()).toBe(true);
    expect((await s.rest.dbStatus(FOLDER_ID)).globalFiles).toBe(0);
    await l.rest.patchFolder(FOLDER_ID, { paused: false });
    await expect.poll(async () => (await s.rest.dbStatus(FOLDER_ID)).globalFiles, { timeout: 10_000 }).toBe(2);
    expect(await connected()).toBe(true);
  });
});

describe('GUI credentials', () => {
  it('are a fresh user and a hash in bcrypt\'s format (what syncthing takes as hashed: ^\\$2[aby]\\$\\d+\\$.{50,}), different every time', () => {
    const a = randomGuiCredentials();
    const b = randomGuiCredentials();
    expect(a.passwordHash).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(a.user).toMatch(/^kubectl-dev-[a-z0-9]{8}$/);
    expect(a.passwordHash).not.toBe(b.passwordHash);
    expect(a.user).not.toBe(b.user);
  });

  it('no config is written without them', () => {
    const c = sidecarConfig({ sidecarDeviceId: sidecarId, localDeviceId: localId, apiKey: 'k', gui: GUI, workdir: '/w', syncPort: 1, apiPort: 2 });
    expect(() => configXml({ ...c, gui: { user: '', passwordHash: '' } })).toThrow(/password/);
  });

  it('a unix socket GUI address gets socket permissions 0600', () => {
    const xml = configXml(localConfig({ localDeviceId: localId, sidecarDeviceId: sidecarId, apiKey: 'L', gui: GUI, localDir: '/d', guiAddress: '/state/gui.sock', sidecarAddress: 'tcp://127.0.0.1:1', type: 'sendonly', fsWatcherEnabled: false }));
    expect(xml).toContain('<address>/state/gui.sock</address>');
    expect(xml).toContain('<unixSocketPermissions>600</unixSocketPermissions>');
    expect(parseConfigXml(xml)).toMatchObject({ guiAddress: '/state/gui.sock', guiUser: GUI.user, guiPasswordHash: GUI.passwordHash });
  });
});
