// Errors are values: a stable code, a message saying what went wrong, a hint saying
// what to do next, and where (document, line, object). Only the CLI entry turns them
// into text and exit codes.

export type ErrorCode =
  | 'INVALID_YAML'
  | 'NOT_AN_OBJECT'
  | 'UNSUPPORTED_KIND'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_AMBIGUOUS'
  | 'NO_CONTAINERS'
  | 'VOLUME_COLLISION'
  | 'MOUNT_COLLISION'
  | 'OWNED_POD'
  | 'NODE_CRITICAL'
  | 'ORIGINAL_TOO_LARGE'
  | 'CORRUPT_DEV_STATE'
  | 'SELECTION_EMPTY'
  | 'INVALID_OPTION'
  | 'INVALID_INPUT'
  // Cluster access and live mode.
  | 'KUBECONFIG_INVALID'
  | 'UNREACHABLE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'ALREADY_IN_DEV_MODE'
  | 'HELD_BY_OTHER'
  | 'GITOPS_MANAGED'
  | 'DRIFT'
  | 'DEV_MODE_REVERTED'
  | 'INVALID_OBJECT'
  | 'POD_FAILED'
  | 'TIMEOUT'
  | 'API_ERROR'
  // Sync (src/sync).
  | 'SYNCTHING_NOT_FOUND'
  | 'SYNCTHING_TOO_OLD'
  | 'SYNCTHING_FAILED'
  | 'SYNC_ALREADY_RUNNING'
  | 'SYNC_NOT_IN_DEV_MODE'
  | 'SYNC_SECRET_INVALID'
  | 'SYNC_NO_POD'
  | 'SYNC_LOCAL_DIR'
  | 'SYNC_REMOTE_ERROR'
  | 'SYNC_TIMEOUT'
  // Port forwards and `run` (src/run).
  | 'PORT_IN_USE'
  | 'RUN_FAILED'
  // Reverse forwards (src/reverse): what the agent needs in the pod is missing; the agent failed.
  | 'REVERSE_UNAVAILABLE'
  | 'REVERSE_FAILED';

export interface ErrorLocation {
  /** Zero-based index of the document in the input stream. */
  document?: number;
  /** One-based line where the document (or the problem) starts. */
  line?: number;
  /** `Kind/name` of the object concerned. */
  object?: string;
  /** Dotted path of the field concerned. */
  path?: string;
  /** Input source (file name or `-` for stdin). */
  source?: string;
}

export class DevError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly where: ErrorLocation;

  constructor(code: ErrorCode, message: string, hint: string, where: ErrorLocation = {}) {
    super(message);
    this.name = 'DevError';
    this.code = code;
    this.hint = hint;
    this.where = where;
  }

  /** The same error, with more location facts (existing ones win). */
  locate(where: ErrorLocation): DevError {
    return new DevError(this.code, this.message, this.hint, { ...where, ...this.where });
  }
}

export function isDevError(value: unknown): value is DevError {
  return value instanceof DevError;
}

/** `file.yaml: document 2 (line 14), Deployment/web, spec.template…` */
export function describeLocation(where: ErrorLocation): string {
  const parts: string[] = [];
  if (where.source !== undefined) parts.push(where.source === '-' ? 'stdin' : where.source);
  if (where.document !== undefined) {
    parts.push(`document ${where.document + 1}` + (where.line !== undefined ? ` (line ${where.line})` : ''));
  } else if (where.line !== undefined) {
    parts.push(`line ${where.line}`);
  }
  if (where.object !== undefined) parts.push(where.object);
  if (where.path !== undefined) parts.push(where.path);
  return parts.join(', ');
}
