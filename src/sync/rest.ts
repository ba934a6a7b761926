// A small client for syncthing's REST API (the endpoints kubectl-dev uses exist
// with the same shape in 1.19 through 2.x). Authenticated with the X-API-Key header.
//
// It speaks HTTP with node:http and a keep-alive agent rather than the global
// fetch: fetch loads Node's own copy of undici and web streams, about 30 MB of
// resident memory for a handful of small local requests a second.

import * as http from 'node:http';

export interface MiniResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
}

export interface MiniRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** A unix socket to connect to instead of the URL's host (node:http's socketPath). */
  socketPath?: string;
}

/** What the client needs from fetch; the global fetch fits, so does `httpFetch`. */
export type FetchLike = (input: string, init?: MiniRequestInit) => Promise<MiniResponse>;

/** A fetch over node:http with its own keep-alive agent (one per client). */
export function httpFetch(agent = new http.Agent({ keepAlive: true, maxSockets: 8 })): FetchLike {
  return (input, init = {}) =>
    new Promise((resolve, reject) => {
      const request = http.request(input, {
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(init.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(init.body)) } : {}) },
        agent,
        ...(init.socketPath !== undefined ? { socketPath: init.socketPath } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ ok: status >= 200 && status < 300, status, text: async () => body });
        });
      });
      request.on('error', (error) => reject(Object.assign(new Error(error.message), { cause: error })));
      if (init.body !== undefined) request.write(init.body);
      request.end();
    });
}

export class RestError extends Error {
  readonly status: number | undefined;
  readonly url: string;
  constructor(message: string, url: string, status?: number) {
    super(message);
    this.name = 'RestError';
    this.url = url;
    this.status = status;
  }
}

export interface DbStatus {
  state: string;
  stateChanged?: string;
  error?: string;
  errors?: number;
  pullErrors?: number;
  sequence: number;
  needTotalItems: number;
  needBytes: number;
  needDeletes?: number;
  globalFiles: number;
  globalDirectories?: number;
  globalSymlinks?: number;
  globalDeleted?: number;
  globalBytes: number;
  localFiles: number;
  localDirectories?: number;
  localBytes: number;
  inSyncFiles?: number;
  receiveOnlyTotalItems?: number;
  receiveOnlyChangedFiles?: number;
}

export interface Completion {
  completion: number;
  needBytes: number;
  needItems: number;
  needDeletes: number;
  globalBytes?: number;
  globalItems?: number;
  remoteState?: string;
  sequence?: number;
}

export interface FolderErrors {
  folder: string;
  errors: Array<{ path: string; error: string }> | null;
}

export interface Connection {
  connected: boolean;
  paused: boolean;
  address?: string;
  inBytesTotal?: number;
  outBytesTotal?: number;
}

export interface SyncthingEvent {
  id: number;
  globalID?: number;
  type: string;
  time: string;
  data: any;
}

export interface Ignores {
  ignore: string[] | null;
  expanded: string[] | null;
  error?: string;
}

export interface RestOptions {
  fetch?: FetchLike;
  /** Per-request timeout (long polls add their own timeout to it). */
  timeoutMs?: number;
}

/** The base URL of a REST API on a unix socket: `unix:` and the socket's absolute path. */
export function unixSocketUrl(socketPath: string): string {
  return `unix:${socketPath}`;
}

export class SyncthingRest {
  /** http://host:port, or unix:/path/of/the/socket (unixSocketUrl). */
  readonly baseUrl: string;
  private readonly httpBase: string;
  private readonly socketPath: string | undefined;
  private readonly apiKey: string;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, apiKey: string, options: RestOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    if (this.baseUrl.startsWith('unix:')) {
      this.socketPath = this.baseUrl.slice('unix:'.length);
      this.httpBase = 'http://localhost';
    } else {
      this.socketPath = undefined;
      this.httpBase = this.baseUrl;
    }
    this.apiKey = apiKey;
    this.fetchImpl = options.fetch ?? httpFetch();
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private url(path: string, query: Record<string, string | number | readonly string[] | undefined> = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) params.append(key, v);
      else params.append(key, String(value));
    }
    const qs = params.toString();
    return `${this.httpBase}${path}${qs ? `?${qs}` : ''}`;
  }

  async request<T>(method: string, path: string, query: Record<string, string | number | readonly string[] | undefined> = {},
    body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const url = this.url(path, query);
    let response: MiniResponse;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: { 'X-API-Key': this.apiKey, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        ...(this.socketPath !== undefined ? { socketPath: this.socketPath } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new RestError(`${method} ${path}: ${detail}`, url);
    }
    const text = await response.text();
    if (!response.ok) throw new RestError(`${method} ${path}: HTTP ${response.status} ${text.trim().slice(0, 300)}`, url, response.status);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** Resolves when the REST API answers (any authenticated request succeeds). */
  ping(): Promise<{ ping: string }> {
    return this.request('GET', '/rest/system/ping');
  }

  version(): Promise<{ version: string; os?: string; arch?: string }> {
    return this.request('GET', '/rest/system/version');
  }

  status(): Promise<{ myID: string; startTime?: string }> {
    return this.request('GET', '/rest/system/status');
  }

  dbStatus(folder: string): Promise<DbStatus> {
    return this.request('GET', '/rest/db/status', { folder });
  }

  /** Completion of `device` for the folder as this side sees it; without a device, this side's own. */
  completion(folder: string, device?: string): Promise<Completion> {
    return this.request('GET', '/rest/db/completion', { folder, device });
  }

  /** Scans the folder, or only the given paths; resolves when the scan is done. */
  scan(folder: string, subs: readonly string[] = [], timeoutMs = 10 * 60_000): Promise<void> {
    return this.request('POST', '/rest/db/scan', { folder, sub: subs.length > 0 ? subs : undefined }, undefined, timeoutMs);
  }

  /** Files `device` needs from this side (first page). */
  remoteNeed(folder: string, device: string, perpage = 1000): Promise<{ files?: Array<{ name: string }> | null; progress?: Array<{ name: string }> | null; queued?: Array<{ name: string }> | null; rest?: Array<{ name: string }> | null }> {
    return this.request('GET', '/rest/db/remoteneed', { folder, device, perpage, page: 1 });
  }

  /** Items changed locally in a receive-only folder (first page). */
  localChanged(folder: string, perpage = 1000): Promise<{ files?: Array<{ name: string }> | null }> {
    return this.request('GET', '/rest/db/localchanged', { folder, perpage, page: 1 });
  }

  folderErrors(folder: string): Promise<FolderErrors> {
    return this.request('GET', '/rest/folder/errors', { folder });
  }

  connections(): Promise<{ connections: Record<string, Connection> }> {
    return this.request('GET', '/rest/system/connections');
  }

  systemErrors(): Promise<{ errors: Array<{ when: string; message: string }> | null }> {
    return this.request('GET', '/rest/system/error');
  }

  getIgnores(folder: string): Promise<Ignores> {
    return this.request('GET', '/rest/db/ignores', { folder });
  }

  setIgnores(folder: string, lines: readonly string[]): Promise<Ignores> {
    return this.request('POST', '/rest/db/ignores', { folder }, { ignore: lines });
  }

  /** Long-polls events after `since`; empty when `timeoutS` passes without any. */
  events(since: number, types: readonly string[] = [], timeoutS = 30): Promise<SyncthingEvent[]> {
    return this.request('GET', '/rest/events', { since, timeout: timeoutS, events: types.length > 0 ? types.join(',') : undefined }, undefined,
      (timeoutS + 10) * 1000);
  }

  /** The latest `limit` events of the given types, at once (the id to follow them from). */
  recentEvents(types: readonly string[], limit = 1): Promise<SyncthingEvent[]> {
    return this.request('GET', '/rest/events', { since: 0, limit, timeout: 0, events: types.length > 0 ? types.join(',') : undefined });
  }

  /** What this side's index holds for one file of the folder (RestError status 404: it never indexed it). */
  fileInfo(folder: string, file: string): Promise<unknown> {
    return this.request('GET', '/rest/db/file', { folder, file });
  }

  pauseDevice(device: string): Promise<void> {
    return this.request('POST', '/rest/system/pause', { device });
  }

  resumeDevice(device: string): Promise<void> {
    return this.request('POST', '/rest/system/resume', { device });
  }

  /** Makes a send-only folder's state the global one: its versions win, what it lacks is deleted elsewhere. */
  override(folder: string): Promise<void> {
    return this.request('POST', '/rest/db/override', { folder });
  }

  /** Reverts a receive-only folder to the global state. */
  revert(folder: string): Promise<void> {
    return this.request('POST', '/rest/db/revert', { folder });
  }

  patchFolder(folder: string, patch: Record<string, unknown>): Promise<void> {
    return this.request('PATCH', `/rest/config/folders/${encodeURIComponent(folder)}`, {}, patch);
  }

  getFolder(folder: string): Promise<Record<string, unknown>> {
    return this.request('GET', `/rest/config/folders/${encodeURIComponent(folder)}`);
  }

  shutdown(): Promise<void> {
    return this.request('POST', '/rest/system/shutdown');
  }
}
