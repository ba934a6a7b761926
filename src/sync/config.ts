// syncthing's config.xml for both sides, as pure functions of their inputs.
//
// Written at config version 36 (syncthing 1.19, Debian 12's). Newer syncthings
// (1.2x, 2.x) migrate it upwards on load; 1.19 refuses anything newer, so 36 is the
// one version every supported binary reads. Integers only for fsWatcherDelayS
// (1.19 parses it as an integer; 0 silently disables the watcher).

/** The config version every supported syncthing (1.19 and later) loads. */
export const CONFIG_VERSION = 36;
/** The one folder a dev-mode sync shares. */
export const FOLDER_ID = 'kubectl-dev';

export type FolderType = 'sendonly' | 'receiveonly' | 'sendreceive';

export interface DeviceSpec {
  id: string;
  name: string;
  /** `dynamic` (never dialled: discovery is off) or `tcp://127.0.0.1:PORT`. */
  addresses: string[];
  paused?: boolean;
}

export interface FolderSpec {
  id: string;
  label: string;
  path: string;
  type: FolderType;
  rescanIntervalS: number;
  fsWatcherEnabled: boolean;
  /** Whole seconds, ≥ 1. */
  fsWatcherDelayS: number;
  /** Name whose existence marks a healthy folder; "." makes the root itself the marker (nothing is created in it). */
  markerName: string;
  disableFsync: boolean;
  maxConflicts: number;
}

/**
 * A GUI user and a bcrypt hash for its password. With both set, syncthing's GUI and REST API
 * want the API key (X-API-Key), a session from a login, or basic auth: the CSRF cookie that
 * any GET of "/" hands out no longer lets a request in. Nobody logs in (kubectl-dev uses the
 * API key): see randomGuiCredentials.
 */
export interface GuiCredentials {
  user: string;
  passwordHash: string;
}

/** A versioning of files that a folder's peer deletes or replaces (syncthing's own). */
export interface VersioningSpec {
  type: 'simple' | 'trashcan' | 'staggered';
  /** Where the versions go (absolute); syncthing's default is .stversions in the folder. */
  path: string;
  params: Record<string, string>;
}

export interface SyncthingConfig {
  self: DeviceSpec;
  peers: DeviceSpec[];
  folder: FolderSpec & { versioning?: VersioningSpec };
  /** GUI/REST listen address: host:port, or the absolute path of a unix socket. */
  guiAddress: string;
  apiKey: string;
  gui: GuiCredentials;
  /** Sync protocol listen address, tcp://host:port; '' for none (the side that only dials). */
  listenAddress: string;
  /** Lower the process priority (fine for the sidecar; the laptop side wants speed). */
  setLowPriority: boolean;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${value})`);
}

function deviceXml(device: DeviceSpec, indent: string): string {
  return [
    `${indent}<device id="${xmlEscape(device.id)}" name="${xmlEscape(device.name)}" compression="metadata" introducer="false" skipIntroductionRemovals="false" introducedBy="">`,
    ...device.addresses.map((a) => `${indent}    <address>${xmlEscape(a)}</address>`),
    `${indent}    <paused>${device.paused === true}</paused>`,
    `${indent}    <autoAcceptFolders>false</autoAcceptFolders>`,
    `${indent}</device>`,
  ].join('\n');
}

function versioningXml(versioning: VersioningSpec | undefined): string[] {
  if (!versioning) return [];
  return [
    `        <versioning type="${versioning.type}">`,
    ...Object.entries(versioning.params).map(([k, v]) => `            <param key="${xmlEscape(k)}" val="${xmlEscape(v)}"></param>`),
    `            <fsPath>${xmlEscape(versioning.path)}</fsPath>`,
    `            <fsType>basic</fsType>`,
    `        </versioning>`,
  ];
}

/** The whole config.xml. Only the keys that matter are written; syncthing fills in defaults for the rest. */
export function configXml(config: SyncthingConfig): string {
  const { folder } = config;
  checkInteger('fsWatcherDelayS', folder.fsWatcherDelayS, 1);
  checkInteger('rescanIntervalS', folder.rescanIntervalS, 0);
  checkInteger('maxConflicts', folder.maxConflicts, -1);
  if (!config.gui.user || !config.gui.passwordHash || !config.apiKey) throw new Error('the GUI needs a user, a password hash and an API key');
  const devices = [config.self, ...config.peers];
  const options: Array<[string, string | number | boolean]> = [
    ['listenAddress', config.listenAddress],
    // Nothing leaves the machine (or the pod) except through the port-forward.
    ['globalAnnounceEnabled', false],
    ['localAnnounceEnabled', false],
    ['relaysEnabled', false],
    ['natEnabled', false],
    ['announceLANAddresses', false],
    ['stunKeepaliveStartS', 0],
    ['urAccepted', -1],
    ['urSeen', 3],
    ['autoUpgradeIntervalH', 0],
    ['crashReportingEnabled', false],
    ['startBrowser', false],
    ['restartOnWakeup', false],
    ['reconnectionIntervalS', 1],
    ['setLowPriority', config.setLowPriority],
    ['minHomeDiskFree', 1],
  ];
  return [
    `<configuration version="${CONFIG_VERSION}">`,
    `    <folder id="${xmlEscape(folder.id)}" label="${xmlEscape(folder.label)}" path="${xmlEscape(folder.path)}" type="${folder.type}" ` +
      `rescanIntervalS="${folder.rescanIntervalS}" fsWatcherEnabled="${folder.fsWatcherEnabled}" fsWatcherDelayS="${folder.fsWatcherDelayS}" ` +
      `ignorePerms="true" autoNormalize="true">`,
    `        <filesystemType>basic</filesystemType>`,
    ...devices.map((d) => `        <device id="${xmlEscape(d.id)}" introducedBy=""></device>`),
    `        <minDiskFree unit="%">1</minDiskFree>`,
    `        <markerName>${xmlEscape(folder.markerName)}</markerName>`,
    `        <maxConflicts>${folder.maxConflicts}</maxConflicts>`,
    `        <disableFsync>${folder.disableFsync}</disableFsync>`,
    `        <copyOwnershipFromParent>false</copyOwnershipFromParent>`,
    // No progress events: with them, a scan lists the whole tree before it hashes
    // anything (to know the total); without, walking and hashing overlap.
    `        <scanProgressIntervalS>-1</scanProgressIntervalS>`,
    `        <paused>false</paused>`,
    ...versioningXml(folder.versioning),
    `    </folder>`,
    ...devices.map((d) => deviceXml(d, '    ')),
    `    <gui enabled="true" tls="false" debugging="false">`,
    `        <address>${xmlEscape(config.guiAddress)}</address>`,
    // A unix socket (the laptop's side) is created in a 0700 directory; 0600 on top of that.
    ...(config.guiAddress.startsWith('/') ? ['        <unixSocketPermissions>600</unixSocketPermissions>'] : []),
    `        <user>${xmlEscape(config.gui.user)}</user>`,
    `        <password>${xmlEscape(config.gui.passwordHash)}</password>`,
    `        <apikey>${xmlEscape(config.apiKey)}</apikey>`,
    `        <theme>default</theme>`,
    `    </gui>`,
    `    <options>`,
    ...options.map(([k, v]) => k === 'minHomeDiskFree' ? `        <minHomeDiskFree unit="%">${v}</minHomeDiskFree>` : `        <${k}>${xmlEscape(String(v))}</${k}>`),
    `    </options>`,
    `</configuration>`,
    '',
  ].join('\n');
}

export interface SidecarConfigInput {
  sidecarDeviceId: string;
  localDeviceId: string;
  apiKey: string;
  gui: GuiCredentials;
  /** The dev container's work dir, shared with the sidecar. */
  workdir: string;
  syncPort: number;
  apiPort: number;
}

/**
 * The sidecar's side: listens on 127.0.0.1 only (reached through the port-forward,
 * never from the pod network); receive-only (the laptop is the source of truth;
 * two-way mode switches it over REST); only the local device; no fsync (the work
 * dir is an emptyDir that lives no longer than the pod; the laptop has the data).
 */
export function sidecarConfig(input: SidecarConfigInput): SyncthingConfig {
  return {
    self: { id: input.sidecarDeviceId, name: 'kubectl-dev-sidecar', addresses: ['dynamic'] },
    // The laptop dials in through the port-forward; the sidecar never dials out.
    peers: [{ id: input.localDeviceId, name: 'kubectl-dev-local', addresses: ['dynamic'] }],
    folder: {
      id: FOLDER_ID,
      label: 'kubectl-dev work dir',
      path: input.workdir,
      type: 'receiveonly',
      rescanIntervalS: 3600,
      // Tracks changes made in the container (flagged as local changes; sent back in two-way mode).
      fsWatcherEnabled: true,
      fsWatcherDelayS: 1,
      markerName: '.stfolder',
      disableFsync: true,
      maxConflicts: 10,
    },
    guiAddress: `127.0.0.1:${input.apiPort}`,
    apiKey: input.apiKey,
    gui: input.gui,
    listenAddress: `tcp://127.0.0.1:${input.syncPort}`,
    setLowPriority: true,
  };
}

export interface LocalConfigInput {
  localDeviceId: string;
  sidecarDeviceId: string;
  apiKey: string;
  gui: GuiCredentials;
  localDir: string;
  /** The GUI/REST listener: the absolute path of a unix socket, or host:port. */
  guiAddress: string;
  /** Files the sidecar deletes or replaces are kept (two-way sync). */
  versioning?: VersioningSpec;
  /**
   * tcp://127.0.0.1:PORT for the local syncthing to listen on. Default: none — nobody
   * dials it, and a TCP listener costs a second at every stop (syncthing's accept
   * loop wakes up once a second to notice it should end).
   */
  listenAddress?: string;
  /** tcp://127.0.0.1:PORT of the port-forward to the sidecar's sync port. */
  sidecarAddress: string;
  /** `sendonly` unless two-way sync was asked for (and the initial sync is done). */
  type: 'sendonly' | 'sendreceive';
  /** syncthing's own watcher; off when the fast path watches the directory. */
  fsWatcherEnabled: boolean;
  fsWatcherDelayS?: number;
  rescanIntervalS?: number;
  /** Start with the sidecar device paused (resumed over REST once the sidecar's ignores are set). */
  sidecarPaused?: boolean;
}

/**
 * The laptop's side: send-only by default (nothing in the container can change or
 * delete the developer's files); "." as folder marker so nothing is created in the
 * developer's directory; a long rescan interval as the safety net.
 */
export function localConfig(input: LocalConfigInput): SyncthingConfig {
  return {
    self: { id: input.localDeviceId, name: 'kubectl-dev-local', addresses: ['dynamic'] },
    peers: [{ id: input.sidecarDeviceId, name: 'kubectl-dev-sidecar', addresses: [input.sidecarAddress], paused: input.sidecarPaused ?? false }],
    folder: {
      id: FOLDER_ID,
      label: 'kubectl-dev work dir',
      path: input.localDir,
      type: input.type,
      rescanIntervalS: input.rescanIntervalS ?? 3600,
      fsWatcherEnabled: input.fsWatcherEnabled,
      fsWatcherDelayS: input.fsWatcherDelayS ?? 10,
      markerName: '.',
      disableFsync: false,
      maxConflicts: 10,
      ...(input.versioning ? { versioning: input.versioning } : {}),
    },
    guiAddress: input.guiAddress,
    apiKey: input.apiKey,
    gui: input.gui,
    listenAddress: input.listenAddress ?? '',
    setLowPriority: false,
  };
}

export interface ParsedConfig {
  apiKey: string;
  /** '' when the config has no GUI user (a Secret written before the GUI had one). */
  guiUser: string;
  guiPasswordHash: string;
  guiAddress: string;
  listenAddress: string;
  folderId: string;
  folderPath: string;
  folderType: string;
  deviceIds: string[];
}

function pickRaw(xml: string, re: RegExp, what: string): string {
  const match = re.exec(xml);
  if (!match) throw new Error(`config.xml has no ${what}`);
  return match[1] as string;
}

function pick(xml: string, re: RegExp, what: string): string {
  return pickRaw(xml, re, what).replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Reads back the few facts kubectl-dev needs from a config.xml it wrote. */
export function parseConfigXml(xml: string): ParsedConfig {
  const folderTag = pickRaw(xml, /(<folder\s[^>]*>)/, 'folder');
  const deviceIds = [...xml.matchAll(/<device id="([^"]+)"[^>]*\sname=/g)].map((m) => m[1] as string);
  return {
    apiKey: pick(xml, /<apikey>([^<]*)<\/apikey>/, 'GUI API key'),
    guiUser: /<gui[^>]*>[\s\S]*?<user>[^<]*<\/user>/.test(xml) ? pick(xml, /<gui[^>]*>[\s\S]*?<user>([^<]*)<\/user>/, 'GUI user') : '',
    guiPasswordHash: /<gui[^>]*>[\s\S]*?<password>[^<]*<\/password>/.test(xml) ? pick(xml, /<gui[^>]*>[\s\S]*?<password>([^<]*)<\/password>/, 'GUI password') : '',
    guiAddress: pick(xml, /<gui[^>]*>[\s\S]*?<address>([^<]*)<\/address>/, 'GUI address'),
    listenAddress: pick(xml, /<listenAddress>([^<]*)<\/listenAddress>/, 'listen address'),
    folderId: pick(folderTag, /\sid="([^"]*)"/, 'folder id'),
    folderPath: pick(folderTag, /\spath="([^"]*)"/, 'folder path'),
    folderType: pick(folderTag, /\stype="([^"]*)"/, 'folder type'),
    deviceIds,
  };
}
