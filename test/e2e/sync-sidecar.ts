// A real syncthing playing the dev pod's sync sidecar on this machine, fed from the
// workload's Secret exactly as the sidecar's command does (src/core/pod.ts
// sidecarScript: copy config.xml, cert.pem and key.pem into syncthing's home, then
// `syncthing serve --home=…`), and reached through the API server with a KWOK
// PortForward on the dev pod's ports 22000 (sync) and 8384 (REST).
//
// As the real sidecar, it runs as uid 1000 / gid 0 when the test runs as root
// (setpriv), and listens on 127.0.0.1:22000 and :8384 of this machine.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { SIDECAR_UID, SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT } from '../../src/core/settings.ts';
import { parseConfigXml } from '../../src/sync/config.ts';
import { forwardPodPort } from '../support/kwok.ts';
import { portIsFree, startSyncthing, type RunningSyncthing } from '../unit/sync/support.ts';

export interface FakeSidecar {
  home: string;
  workdir: string;
  syncthing: RunningSyncthing;
  pod: string;
  /** Stops syncthing and removes the port-forwards. */
  stop(): Promise<void>;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** The uid the fake sidecar runs as (the real one's, when the test may switch users). */
export const sidecarUid = asRoot ? SIDECAR_UID : process.getuid?.() ?? 0;

/** A directory the sidecar user can use, like an emptyDir (0777). */
export function emptyDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
}

/** Makes every directory from `dir` up to / traversable by the sidecar user. */
function traversable(dir: string): void {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const mode = fs.statSync(d).mode & 0o777;
    if ((mode & 0o001) === 0) fs.chmodSync(d, mode | 0o001);
  }
}

export async function startFakeSidecar(kc: k8s.KubeConfig, opts: { namespace: string; pod: string; secret: k8s.V1Secret; home: string }): Promise<FakeSidecar> {
  for (const port of [SYNCTHING_SYNC_PORT, SYNCTHING_API_PORT]) {
    if (!(await portIsFree(port))) throw new Error(`127.0.0.1:${port} is in use; the fake sidecar listens there as the real one does in its pod`);
  }
  const data = opts.secret.data ?? {};
  const file = (key: string) => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
  const config = parseConfigXml(file('config.xml'));
  // Fresh emptyDirs, as in a new pod.
  emptyDir(opts.home);
  emptyDir(config.folderPath);
  traversable(opts.home);
  traversable(config.folderPath);
  // The sidecar script's `cp` of the Secret files into the home.
  for (const key of ['config.xml', 'cert.pem', 'key.pem']) {
    fs.writeFileSync(path.join(opts.home, key), file(key), { mode: 0o440 });
    if (asRoot) fs.chownSync(path.join(opts.home, key), SIDECAR_UID, 0);
  }
  if (asRoot) {
    fs.chownSync(opts.home, SIDECAR_UID, 0);
    fs.chownSync(config.folderPath, SIDECAR_UID, 0);
  }
  const syncthing = await startSyncthing(opts.home, asRoot ? { asUser: { uid: SIDECAR_UID, gid: 0 } } : {});
  const undo = await forwardPodPort(kc, { namespace: opts.namespace, pod: opts.pod, ports: [SYNCTHING_SYNC_PORT], target: { port: SYNCTHING_SYNC_PORT } });
  const undoApi = await forwardPodPort(kc, { namespace: opts.namespace, pod: opts.pod, ports: [SYNCTHING_API_PORT], target: { port: SYNCTHING_API_PORT } });
  return {
    home: opts.home,
    workdir: config.folderPath,
    syncthing,
    pod: opts.pod,
    stop: async () => {
      await syncthing.stop();
      await undo().catch(() => {});
      await undoApi().catch(() => {});
    },
  };
}
