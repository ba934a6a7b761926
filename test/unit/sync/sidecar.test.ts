// The sidecar container of a rewritten pod, run here for real: its own command
// (sidecarScript, with this machine's paths and free ports put in) and its env over
// the official image's env, as the sidecar's user (uid 1000, gid 0) under the umask
// a container starts with (0022), receiving from a local syncthing. With each
// syncthing at hand: the sidecar image's 1.29.2 when built (npm run tools:syncthing),
// and an older one (1.19.2, built from its module).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { enter } from '../../../src/core/enter.ts';
import { SIDECAR_UID, SYNCTHING_GUI_ADDRESS, SYNCTHING_HOME, SYNCTHING_SECRET_DIR } from '../../../src/core/settings.ts';
import { configXml, FOLDER_ID, localConfig, sidecarConfig } from '../../../src/sync/config.ts';
import { generateIdentity, randomApiKey, randomGuiCredentials } from '../../../src/sync/identity.ts';
import { SyncthingRest } from '../../../src/sync/rest.ts';
import { olderSyncthingBinary, sidecarSyncthingBinary } from '../../tools/syncthing.ts';
import { freePort, startSyncthing, syncthingForTests, tempDir, until } from './support.ts';

const asRoot = process.getuid?.() === 0;

/** docker.io/syncthing/syncthing's image env (its Dockerfile's ENV lines). */
const IMAGE_ENV = { PUID: '1000', PGID: '1000', HOME: '/var/syncthing', STGUIADDRESS: '0.0.0.0:8384', STHOMEDIR: '/var/syncthing/config' };

type Container = { name: string; command: string[]; env: Array<{ name: string; value: string }> };

function sidecarContainer(): Container {
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'node:24' }] } } },
  };
  const [entered] = enter([deployment]) as Array<{ spec: { template: { spec: { containers: Container[] } } } }>;
  return entered!.spec.template.spec.containers.find((c) => c.name === 'kubectl-dev-sync')!;
}

/** Every mode and owner under `dir`, syncthing's own marker left out. */
function modesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (entry.name === '.stfolder') continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      const st = fs.statSync(path.join(dir, child));
      out[child] = `${st.isDirectory() ? 'dir' : 'file'} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (entry.isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

const binaries = [sidecarSyncthingBinary(), olderSyncthingBinary()];

describe.skipIf(!asRoot).each(binaries)('the sidecar container, run with %s', (binary) => {
  const dirs: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('listens on loopback only, keeps its home, and writes a tree that another uid can write in', { timeout: 90_000 }, async () => {
    const root = tempDir('sidecar');
    dirs.push(root);
    fs.chmodSync(root, 0o755);
    const at = (rel: string, mode: number) => {
      const dir = path.join(root, rel);
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, mode);
      return dir;
    };
    // The pod's volumes: emptyDirs (0777) for the home and the work dir, the Secret (root-owned files, 0440).
    const home = at('home', 0o777);
    const work = at('work', 0o777);
    const secret = at('secret', 0o755);
    const imageHome = at('image-home', 0o777);
    const src = at('src', 0o755);
    const localHome = at('local', 0o700);
    const sidecarId = generateIdentity();
    const localId = generateIdentity();
    const [syncPort, apiPort, guiPort] = [await freePort(), await freePort(), await freePort()];
    const apiKey = randomApiKey();
    const files: Record<string, string> = {
      'config.xml': configXml(sidecarConfig({ sidecarDeviceId: sidecarId.deviceId, localDeviceId: localId.deviceId, apiKey, gui: randomGuiCredentials(), workdir: work, syncPort, apiPort })),
      'cert.pem': sidecarId.certPem,
      'key.pem': sidecarId.keyPem,
    };
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(secret, name), content, { mode: 0o440 });

    // The container's command and env with this machine's paths and ports; nothing else changes.
    const container = sidecarContainer();
    const local = (text: string) => text.replaceAll(SYNCTHING_SECRET_DIR, secret).replaceAll(SYNCTHING_HOME, home).replaceAll(SYNCTHING_GUI_ADDRESS, `127.0.0.1:${apiPort}`)
      .replaceAll('/bin/syncthing ', `${binary} `);
    const script = local(container.command[2]!);
    expect(container.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(script).not.toContain('/var/kubectl-dev');
    expect(script).toContain(`exec ${binary} serve`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...IMAGE_ENV, STGUIADDRESS: `0.0.0.0:${apiPort}`, STHOMEDIR: imageHome };
    for (const { name, value } of container.env) env[name] = local(value);

    let output = '';
    const child: ChildProcess = spawn('/bin/sh', ['-c', 'umask 0022 && exec "$@"', 'sh', 'setpriv', `--reuid=${SIDECAR_UID}`, '--regid=0', '--clear-groups', '/bin/sh', '-c', script],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stops.push(async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      child.kill('SIGKILL');
    });
    const sidecar = new SyncthingRest(`http://127.0.0.1:${apiPort}`, apiKey);
    await until(`the sidecar's REST API on 127.0.0.1:${apiPort}`, async () => {
      if (child.exitCode !== null) throw new Error(`the sidecar ended: ${output}`);
      return (await sidecar.ping()).ping === 'pong';
    }, 30_000, 100);

    // The image's STGUIADDRESS=0.0.0.0 would also answer on 127.0.0.2; its STHOMEDIR would hold the config and database.
    expect(await refused('127.0.0.2', apiPort)).toBe(true);
    expect((await sidecar.status()).myID).toBe(sidecarId.deviceId);
    expect(fs.readdirSync(imageHome)).toEqual([]);
    expect(fs.readdirSync(home).length).toBeGreaterThan(3);

    fs.mkdirSync(path.join(src, 'pkg0/sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'pkg0/a.go'), 'package pkg0\n');
    fs.writeFileSync(path.join(src, 'pkg0/sub/b.go'), 'package sub\n');
    fs.writeFileSync(path.join(src, 'top.txt'), 'top\n');
    fs.writeFileSync(path.join(localHome, 'config.xml'), configXml(localConfig({
      localDeviceId: localId.deviceId, sidecarDeviceId: sidecarId.deviceId, apiKey: randomApiKey(), gui: randomGuiCredentials(), localDir: src, guiAddress: `127.0.0.1:${guiPort}`,
      sidecarAddress: `tcp://127.0.0.1:${syncPort}`, type: 'sendonly', fsWatcherEnabled: false,
    })));
    fs.writeFileSync(path.join(localHome, 'cert.pem'), localId.certPem);
    fs.writeFileSync(path.join(localHome, 'key.pem'), localId.keyPem);
    const l = await startSyncthing(localHome);
    stops.unshift(l.stop);
    const landed = (rel: string, content: string) => until(`${rel} in the sidecar's folder`, () => {
      try {
        return fs.readFileSync(path.join(work, rel), 'utf8') === content;
      } catch {
        return false;
      }
    }, 40_000, 50);
    await landed('pkg0/sub/b.go', 'package sub\n');
    await landed('pkg0/a.go', 'package pkg0\n');
    await landed('top.txt', 'top\n');
    // A change replaces the file (a new temporary file renamed over it).
    fs.writeFileSync(path.join(src, 'pkg0/sub/b.go'), 'package sub // changed\n');
    await l.rest.scan(FOLDER_ID);
    await landed('pkg0/sub/b.go', 'package sub // changed\n');

    const owner = `${SIDECAR_UID}:0`;
    expect(modesUnder(work)).toEqual({
      'pkg0': `dir 777 ${owner}`,
      'pkg0/a.go': `file 666 ${owner}`,
      'pkg0/sub': `dir 777 ${owner}`,
      'pkg0/sub/b.go': `file 666 ${owner}`,
      'top.txt': `file 666 ${owner}`,
    });
    // The dev container's user: another uid, no group in common (an image USER, runAsUser, fsGroup alike).
    for (const argv of [['touch', `${work}/pkg0/new.go`], ['mkdir', `${work}/pkg0/sub/build`], ['sh', '-c', `echo '// more' >> ${work}/pkg0/a.go`]]) {
      const r = spawnSync('setpriv', ['--reuid=1001', '--regid=1001', '--clear-groups', ...argv], { encoding: 'utf8' });
      expect(r.status, `${argv.join(' ')} as uid 1001: ${r.stderr}`).toBe(0);
    }
  });
});
