// Issue 17, point 1: no GUI/REST endpoint of a syncthing kubectl-dev starts answers a
// request without the API key — with or without the CSRF cookie that any GET of "/" hands
// out, with or without a guessed basic-auth password. Run against real syncthings: Debian's
// 1.19 and the sidecar image's 1.29.2, each with the sidecar's config (TCP on 127.0.0.1) and
// the laptop's (a unix socket in a 0700 directory).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configXml, localConfig, sidecarConfig, FOLDER_ID, type GuiCredentials } from '../../../src/sync/config.ts';
import { generateIdentity, randomApiKey, randomGuiCredentials } from '../../../src/sync/identity.ts';
import { olderSyncthingBinary, sidecarSyncthingBinary } from '../../tools/syncthing.ts';
import { ask, CALLS, csrfOf, type Target } from './rest-calls.ts';
import { freePort, startSyncthing, syncthingForTests, tempDir, type RunningSyncthing } from './support.ts';

interface Setup {
  name: string;
  binary: () => string;
}

const BINARIES: Setup[] = [
  { name: 'syncthing 1.19.2 (built from its module)', binary: olderSyncthingBinary },
  { name: 'the sidecar image\'s syncthing 1.29.2', binary: sidecarSyncthingBinary },
];

describe.each(BINARIES)('$name', ({ binary }) => {
  const dirs: string[] = [];
  const running: RunningSyncthing[] = [];
  afterAll(async () => {
    for (const r of running) await r.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A home with the config kubectl-dev writes (or, `gui: undefined`, the one it wrote before issue 17: no user and password). */
  async function start(kind: 'sidecar' | 'local', gui: GuiCredentials | undefined): Promise<Target> {
    const root = tempDir(`st-lock-${kind}`);
    dirs.push(root);
    fs.chmodSync(root, 0o700);
    const home = path.join(root, 'home');
    const work = path.join(root, 'work');
    fs.mkdirSync(home);
    fs.mkdirSync(work);
    const self = generateIdentity();
    const peer = generateIdentity();
    const apiKey = randomApiKey();
    const address = kind === 'sidecar' ? `127.0.0.1:${await freePort()}` : path.join(root, 'gui.sock');
    const creds = gui ?? { user: 'x', passwordHash: 'x' };
    let xml = kind === 'sidecar'
      ? configXml(sidecarConfig({ sidecarDeviceId: self.deviceId, localDeviceId: peer.deviceId, apiKey, gui: creds, workdir: work, syncPort: await freePort(), apiPort: Number(address.split(':')[1]) }))
      : configXml(localConfig({ localDeviceId: self.deviceId, sidecarDeviceId: peer.deviceId, apiKey, gui: creds, localDir: work, guiAddress: address, sidecarAddress: 'tcp://127.0.0.1:1', type: 'sendonly', fsWatcherEnabled: false }));
    if (!gui) xml = xml.replace(/\s*<user>[^<]*<\/user>\s*<password>[^<]*<\/password>/, '');
    fs.writeFileSync(path.join(home, 'config.xml'), xml);
    fs.writeFileSync(path.join(home, 'cert.pem'), self.certPem);
    fs.writeFileSync(path.join(home, 'key.pem'), self.keyPem);
    running.push(await startSyncthing(home, { binary: binary() }));
    return { address, apiKey };
  }

  /** The status of every call: without credentials, with the CSRF cookie and its header, with a guessed basic-auth password. */
  async function withoutKey(target: Target): Promise<string[]> {
    const csrf = await csrfOf(target);
    const ways: Array<[string, Record<string, string>]> = [
      ['nothing', {}],
      ['the CSRF cookie', csrf],
      ['basic auth', { ...csrf, Authorization: `Basic ${Buffer.from('kubectl-dev:password').toString('base64')}` }],
    ];
    const out: string[] = [];
    for (const [how, headers] of ways) {
      for (const [method, urlPath, body] of CALLS) {
        if (urlPath.includes('shutdown') || urlPath.includes('restart')) {
          // Last, so a call that got through could not stop the others from being tried.
          continue;
        }
        out.push(`${method} ${urlPath} with ${how}: ${(await ask(target, method, urlPath, headers, body)).status}`);
      }
    }
    for (const [method, urlPath] of CALLS.filter(([, p]) => p.includes('shutdown') || p.includes('restart'))) {
      out.push(`${method} ${urlPath} with the CSRF cookie: ${(await ask(target, method, urlPath, csrf)).status}`);
    }
    return out;
  }

  const refused = (lines: string[]) => lines.filter((l) => !/: 40[13]$/.test(l));

  it('the config kubectl-dev wrote before (API key, no GUI user) lets a CSRF cookie read the API key: what this test catches', async () => {
    const target = await start('sidecar', undefined);
    const csrf = await csrfOf(target);
    expect(Object.keys(csrf)).not.toHaveLength(0);
    const config = await ask(target, 'GET', '/rest/config', csrf);
    expect(config.status).toBe(200);
    expect(config.body).toContain(target.apiKey);
    const [method, urlPath, body] = CALLS.find(([m, p]) => m === 'POST' && p === '/rest/config/devices')!;
    expect((await ask(target, method, urlPath, csrf, body)).status).toBe(200);
  });

  for (const kind of ['sidecar', 'local'] as const) {
    it(`${kind === 'sidecar' ? 'the sidecar\'s config (TCP on 127.0.0.1)' : 'the laptop\'s config (a unix socket)'}: every REST call without the API key gets 401 or 403; with the key it works`, async () => {
      const target = await start(kind, randomGuiCredentials());
      const answers = await withoutKey(target);
      expect(refused(answers)).toEqual([]);
      expect(answers.length).toBe(CALLS.length * 3 - 2 * 2);
      const ok = await ask(target, 'GET', '/rest/system/status', { 'X-API-Key': target.apiKey });
      expect(ok.status).toBe(200);
      // What syncthing serves without auth by design carries nothing of the config (1.29: the health check, the GUI's languages).
      for (const open of ['/rest/noauth/health', '/rest/svc/lang']) {
        const answer = await ask(target, 'GET', open);
        expect(answer.body).not.toContain(target.apiKey);
        expect(answer.body).not.toContain(FOLDER_ID);
      }
    }, 90_000); // each wrong basic-auth password costs syncthing a bcrypt check: ~20 s on an idle 2-core machine, 30 s under load
  }

  it('the laptop\'s socket is in a 0700 directory: another local user cannot even connect', async () => {
    const target = await start('local', randomGuiCredentials());
    expect(fs.statSync(path.dirname(target.address)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(target.address).isSocket()).toBe(true);
    expect(fs.statSync(target.address).mode & 0o077).toBe(0);
    if (process.getuid?.() !== 0) return;
    const script = `require('node:net').connect(${JSON.stringify(target.address)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim()).toBe('EACCES');
  });
});
