// A real syncthing playing the dev pod's sync sidecar on this machine, fed from the
// workload's Secret exactly as the sidecar's command does (src/core/pod.ts
// sidecarScript: copy config.xml, cert.pem and key.pem into syncthing's home, then
// `syncthing serve --home=…`), and reached through the API server with a KWOK
// PortForward on the dev pod's ports 22000 (sync) and 8384 (REST).
//
// As the real sidecar, it runs as uid 1000 / gid 0 when the test runs as root
// (setpriv). One difference: in its pod the sidecar has 127.0.0.1:22000 and :8384
// to itself; on a shared test machine those may be taken (another test or a
// benchmark), so the copy of config.xml listens on free ports instead, and the
// KWOK PortForward maps the pod's 22000 and 8384 to them. An exec in the sidecar
// container (the initial copy's `tar -x`) runs here as the sidecar's user, as a KWOK Exec.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { SIDECAR_CONTAINER } from '../../src/core/marks.ts';
import { SIDECAR_UID, SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT } from '../../src/core/settings.ts';
import { parseConfigXml } from '../../src/sync/config.ts';
import { forwardPodPort } from '../support/kwok.ts';
import { freePort, startSyncthing, until, type RunningSyncthing } from '../unit/sync/support.ts';

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

export async function startFakeSidecar(kc: k8s.KubeConfig, opts: { namespace: string; pod: string; secret: k8s.V1Secret; home: string; binary?: string }): Promise<FakeSidecar> {
  const data = opts.secret.data ?? {};
  const file = (key: string) => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
  const config = parseConfigXml(file('config.xml'));
  // Fresh emptyDirs, as in a new pod.
  emptyDir(opts.home);
  emptyDir(config.folderPath);
  traversable(opts.home);
  traversable(config.folderPath);
  // The sidecar script's `cp` of the Secret files into the home (with this machine's free ports).
  const syncPort = await freePort();
  const apiPort = await freePort();
  const xml = file('config.xml')
    .replace(`<listenAddress>tcp://127.0.0.1:${SYNCTHING_SYNC_PORT}</listenAddress>`, `<listenAddress>tcp://127.0.0.1:${syncPort}</listenAddress>`)
    .replace(`<address>127.0.0.1:${SYNCTHING_API_PORT}</address>`, `<address>127.0.0.1:${apiPort}</address>`);
  if (!xml.includes(`:${syncPort}<`) || !xml.includes(`:${apiPort}<`)) throw new Error('the Secret\'s config.xml does not listen on the sidecar ports');
  const contents: Record<string, string> = { 'config.xml': xml, 'cert.pem': file('cert.pem'), 'key.pem': file('key.pem') };
  for (const key of ['config.xml', 'cert.pem', 'key.pem']) {
    fs.writeFileSync(path.join(opts.home, key), contents[key]!, { mode: 0o440 });
    if (asRoot) fs.chownSync(path.join(opts.home, key), SIDECAR_UID, 0);
  }
  if (asRoot) {
    fs.chownSync(opts.home, SIDECAR_UID, 0);
    fs.chownSync(config.folderPath, SIDECAR_UID, 0);
  }
  const syncthing = await startSyncthing(opts.home, { ...(asRoot ? { asUser: { uid: SIDECAR_UID, gid: 0 } } : {}), ...(opts.binary ? { binary: opts.binary } : {}) });
  const undo = await forwardPodPort(kc, { namespace: opts.namespace, pod: opts.pod, ports: [SYNCTHING_SYNC_PORT], target: { port: syncPort } });
  const undoApi = await forwardPodPort(kc, { namespace: opts.namespace, pod: opts.pod, ports: [SYNCTHING_API_PORT], target: { port: apiPort } });
  const undoExec = await execAsSidecar(kc, opts.namespace, opts.pod);
  return {
    home: opts.home,
    workdir: config.folderPath,
    syncthing,
    pod: opts.pod,
    stop: async () => {
      await syncthing.stop();
      await undo().catch(() => {});
      await undoApi().catch(() => {});
      await undoExec().catch(() => {});
    },
  };
}

/** Waits until `rel` under `dir` (the fake container's work dir) holds exactly `content`. */
export function arrivedIn(dir: string, rel: string, content: string, timeoutMs = 30_000): Promise<unknown> {
  return until(`${rel} in the container`, () => {
    try {
      return fs.readFileSync(path.join(dir, rel), 'utf8') === content;
    } catch {
      return false;
    }
  }, timeoutMs);
}

/**
 * `kubectl exec POD -c <sidecar>` runs the command here, as the sidecar's user (uid
 * 1000, gid 0 when the test runs as root): KWOK's Exec with a securityContext
 * (test/support/kwok.ts's execLocally has none).
 */
async function execAsSidecar(kc: k8s.KubeConfig, namespace: string, pod: string): Promise<() => Promise<void>> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const ref = { group: 'kwok.x-k8s.io', version: 'v1alpha1', namespace, plural: 'execs', name: pod };
  const rule = {
    containers: [SIDECAR_CONTAINER],
    local: asRoot ? { securityContext: { runAsUser: SIDECAR_UID, runAsGroup: 0 } } : {},
  };
  const isOurs = (r: { containers?: string[] }) => JSON.stringify(r.containers ?? null) === JSON.stringify(rule.containers);
  const change = async (add: boolean) => {
    for (let attempt = 0; ; attempt++) {
      let current: any;
      try {
        current = await api.getNamespacedCustomObject(ref);
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
      const execs = ((current?.spec?.execs ?? []) as Array<{ containers?: string[] }>).filter((r) => !isOurs(r));
      if (add) execs.push(rule);
      try {
        if (!current) {
          if (!add) return;
          await api.createNamespacedCustomObject({ ...ref, body: { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Exec', metadata: { name: pod, namespace }, spec: { execs } } });
        } else if (execs.length === 0) {
          await api.deleteNamespacedCustomObject(ref);
        } else {
          await api.replaceNamespacedCustomObject({ ...ref, body: { ...current, spec: { ...current.spec, execs } } });
        }
        return;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if ((code === 409 || code === 404) && attempt < 10) continue;
        throw e;
      }
    }
  };
  await change(true);
  await new Promise((r) => setTimeout(r, 300)); // KWOK's informer has to see it
  return () => change(false);
}
