// The workload's sync Secret: the sidecar's config.xml, cert.pem and key.pem (the
// only keys the pod mounts), plus the laptop side's certificate and key.
//
// Why the laptop's identity is in the Secret too: the sidecar reads its config
// once, at start, and that config names the one device it accepts. If the laptop
// identity lived only on the laptop, `kubectl dev sync` from another machine (or
// after the local state dir is lost) would need a new device ID in the sidecar's
// config — a new Secret and a restart of the dev pod, losing the container's work
// dir. With the identity in the Secret, any machine that may read the Secret can
// resume the sync; the local copy under the config dir (0600) is a cache. Anyone
// who may read the Secret can already read the sidecar's own key and config, and
// still needs pods/portforward on the dev pod to reach syncthing (it listens on
// 127.0.0.1 in the pod only), so storing the laptop key there grants nothing that
// reading the Secret did not already grant. The pod never mounts the laptop keys
// (its Secret volume lists config.xml, cert.pem and key.pem only).

import { SETTINGS_ANNOTATION, WORKLOAD_LABEL } from '../core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../core/names.ts';
import { DEFAULT_WORKDIR, SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT } from '../core/settings.ts';
import { DevError } from '../core/errors.ts';
import type { KubeObject } from '../core/objects.ts';
import { configXml, parseConfigXml, sidecarConfig, FOLDER_ID } from './config.ts';
import { deviceIdFromPem, isValidDeviceId } from './deviceid.ts';
import { generateIdentity, randomApiKey, randomGuiCredentials, type Identity } from './identity.ts';
import type { GuiCredentials } from './config.ts';

export const SECRET_KEY_CONFIG = 'config.xml';
export const SECRET_KEY_CERT = 'cert.pem';
export const SECRET_KEY_KEY = 'key.pem';
export const SECRET_KEY_LOCAL_CERT = 'local-cert.pem';
export const SECRET_KEY_LOCAL_KEY = 'local-key.pem';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** The Secret as a plain object (client-node's V1Secret shape). */
export interface SyncSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences?: unknown[] };
  type: 'Opaque';
  data: Record<string, string>;
}

export interface SyncSecretFacts {
  /** Workload kind, e.g. "Deployment". */
  kind: string;
  name: string;
  namespace?: string;
  /** The dev container's work dir (where the sidecar's folder is). */
  workdir: string;
}

export interface SyncIdentities {
  sidecar: Identity;
  local: Identity;
  apiKey: string;
  /** The sidecar GUI's user and password hash (nobody logs in: they lock out requests without the API key). */
  gui: GuiCredentials;
}

export function generateSyncIdentities(): SyncIdentities {
  return { sidecar: generateIdentity(), local: generateIdentity(), apiKey: randomApiKey(), gui: randomGuiCredentials() };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Builds the Secret from identities (pure given its inputs). */
export function buildSyncSecret(facts: SyncSecretFacts, ids: SyncIdentities): SyncSecret {
  const xml = configXml(sidecarConfig({
    sidecarDeviceId: ids.sidecar.deviceId,
    localDeviceId: ids.local.deviceId,
    apiKey: ids.apiKey,
    gui: ids.gui,
    workdir: facts.workdir,
    syncPort: SYNCTHING_SYNC_PORT,
    apiPort: SYNCTHING_API_PORT,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: syncSecretName(facts.kind, facts.name),
      ...(facts.namespace !== undefined ? { namespace: facts.namespace } : {}),
      labels: { [WORKLOAD_LABEL]: workloadLabelValue(facts.kind, facts.name), [MANAGED_BY_LABEL]: 'kubectl-dev' },
      annotations: { 'dev.kubectl-dev.io/generated-for': `${facts.kind}/${facts.name}` },
    },
    type: 'Opaque',
    data: {
      [SECRET_KEY_CONFIG]: b64(xml),
      [SECRET_KEY_CERT]: b64(ids.sidecar.certPem),
      [SECRET_KEY_KEY]: b64(ids.sidecar.keyPem),
      [SECRET_KEY_LOCAL_CERT]: b64(ids.local.certPem),
      [SECRET_KEY_LOCAL_KEY]: b64(ids.local.keyPem),
    },
  };
}

/** What the laptop side needs from the Secret. */
export interface SyncMaterial {
  secretName: string;
  sidecarDeviceId: string;
  localDeviceId: string;
  localCertPem: string;
  localKeyPem: string;
  /** The sidecar's REST API key. */
  remoteApiKey: string;
  folderId: string;
  workdir: string;
  /** The sidecar's config.xml as stored. */
  sidecarConfigXml: string;
  /** False for a Secret made before the sidecar's GUI had a user and password (its REST API then lets a CSRF cookie in). */
  guiLocked: boolean;
}

interface SecretLike {
  metadata?: { name?: string };
  data?: Record<string, string> | undefined;
  stringData?: Record<string, string> | undefined;
}

function secretValue(secret: SecretLike, key: string): string | undefined {
  const data = secret.data?.[key];
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  const plain = secret.stringData?.[key];
  return typeof plain === 'string' ? plain : undefined;
}

/** Reads and checks the Secret; throws SYNC_SECRET_INVALID naming what is wrong. */
export function readSyncSecret(secret: SecretLike): SyncMaterial {
  const name = secret.metadata?.name ?? '(unnamed)';
  const invalid = (what: string) => new DevError('SYNC_SECRET_INVALID', `the sync Secret ${name} ${what}`,
    'end dev mode and start it again (kubectl dev end, then kubectl dev start) to make a new Secret.', { object: `Secret/${name}` });
  const values: Record<string, string> = {};
  for (const key of [SECRET_KEY_CONFIG, SECRET_KEY_CERT, SECRET_KEY_KEY, SECRET_KEY_LOCAL_CERT, SECRET_KEY_LOCAL_KEY]) {
    const value = secretValue(secret, key);
    if (!value) throw invalid(`has no ${key}`);
    values[key] = value;
  }
  let parsed;
  let sidecarDeviceId: string;
  let localDeviceId: string;
  try {
    parsed = parseConfigXml(values[SECRET_KEY_CONFIG]!);
    sidecarDeviceId = deviceIdFromPem(values[SECRET_KEY_CERT]!);
    localDeviceId = deviceIdFromPem(values[SECRET_KEY_LOCAL_CERT]!);
  } catch (error) {
    throw invalid(`cannot be read: ${(error as Error).message}`);
  }
  if (!parsed.deviceIds.includes(sidecarDeviceId) || !parsed.deviceIds.includes(localDeviceId)) {
    throw invalid('has a config.xml that does not match its certificates');
  }
  if (!isValidDeviceId(sidecarDeviceId) || !isValidDeviceId(localDeviceId)) throw invalid('has invalid device IDs');
  return {
    secretName: name,
    sidecarDeviceId,
    localDeviceId,
    localCertPem: values[SECRET_KEY_LOCAL_CERT]!,
    localKeyPem: values[SECRET_KEY_LOCAL_KEY]!,
    remoteApiKey: parsed.apiKey,
    folderId: parsed.folderId,
    workdir: parsed.folderPath,
    sidecarConfigXml: values[SECRET_KEY_CONFIG]!,
    guiLocked: parsed.guiUser !== '' && parsed.guiPasswordHash !== '',
  };
}

/** The dev container's work dir as recorded on a workload in dev mode (the settings annotation), else the default. */
export function workdirOf(workload: KubeObject): string {
  const raw = workload.metadata?.annotations?.[SETTINGS_ANNOTATION];
  if (typeof raw === 'string') {
    try {
      const settings = JSON.parse(raw) as { workdir?: unknown };
      if (typeof settings.workdir === 'string' && settings.workdir.startsWith('/')) return settings.workdir;
    } catch {
      /* fall through to the default */
    }
  }
  return DEFAULT_WORKDIR;
}

export interface PrepareSyncSecretInput {
  /** The workload as it is (or will be) in dev mode: its settings annotation gives the work dir. */
  workload: KubeObject;
  /** Workload kind, e.g. "Deployment". */
  kind: string;
  namespace?: string;
  /** Work dir when the workload carries no settings annotation. */
  workdir?: string;
  /** The Secret already on the cluster, if any: kept when it is valid and for the same work dir (the running sidecar uses it). */
  existing?: SecretLike | undefined;
  /** Injected for tests; defaults to fresh key pairs. */
  generate?: () => SyncIdentities;
}

export interface PreparedSyncSecret {
  secret: SyncSecret;
  /** True when `existing` is still right and nothing needs to be written. */
  reused: boolean;
}

/**
 * The Secret `start` creates before it patches the workload (start adds the
 * ownerReference and creates or replaces it). A valid existing Secret for the same
 * work dir is reused so that a running sidecar keeps matching it.
 */
export function prepareSyncSecret(input: PrepareSyncSecretInput): PreparedSyncSecret {
  const name = String(input.workload.metadata?.name ?? '');
  const namespace = input.namespace ?? input.workload.metadata?.namespace;
  const annotated = input.workload.metadata?.annotations?.[SETTINGS_ANNOTATION];
  const workdir = typeof annotated === 'string' ? workdirOf(input.workload) : (input.workdir ?? DEFAULT_WORKDIR);
  const facts: SyncSecretFacts = { kind: input.kind, name, workdir, ...(namespace !== undefined ? { namespace } : {}) };
  if (input.existing) {
    try {
      const material = readSyncSecret(input.existing);
      // A Secret from before the GUI had a password is replaced (its sidecar's REST API is open to a cookie).
      if (material.workdir === workdir && material.folderId === FOLDER_ID && material.guiLocked) {
        const data: Record<string, string> = {};
        for (const key of [SECRET_KEY_CONFIG, SECRET_KEY_CERT, SECRET_KEY_KEY, SECRET_KEY_LOCAL_CERT, SECRET_KEY_LOCAL_KEY]) data[key] = b64(secretValue(input.existing, key)!);
        const fresh = buildSyncSecret(facts, { sidecar: { certPem: '', keyPem: '', deviceId: material.sidecarDeviceId }, local: { certPem: '', keyPem: '', deviceId: material.localDeviceId }, apiKey: material.remoteApiKey, gui: { user: 'unused', passwordHash: 'unused' } });
        return { secret: { ...fresh, data }, reused: true };
      }
    } catch {
      /* invalid: replaced below */
    }
  }
  return { secret: buildSyncSecret(facts, (input.generate ?? generateSyncIdentities)()), reused: false };
}
