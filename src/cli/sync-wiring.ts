// Where live mode meets the sync module: the Secret the sidecar reads.
// (Interim: composed from the sync module's identity and config parts until it exports its own factory.)
import type { SyncSecretFactory } from '../live/deps.ts';
import { SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT } from '../core/settings.ts';
import { configXml, sidecarConfig } from '../sync/config.ts';
import { generateIdentity, randomApiKey } from '../sync/identity.ts';

export function syncSecretFactory(): SyncSecretFactory {
  return async ({ secretName, namespace, workdir }) => {
    const sidecar = generateIdentity();
    const local = generateIdentity();
    const apiKey = randomApiKey();
    const config = configXml(sidecarConfig({ sidecarDeviceId: sidecar.deviceId, localDeviceId: local.deviceId, apiKey, workdir, syncPort: SYNCTHING_SYNC_PORT, apiPort: SYNCTHING_API_PORT }));
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    return {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: secretName, namespace },
      data: { 'config.xml': b64(config), 'cert.pem': b64(sidecar.certPem), 'key.pem': b64(sidecar.keyPem), 'local-cert.pem': b64(local.certPem), 'local-key.pem': b64(local.keyPem), apikey: b64(apiKey) },
    };
  };
}
