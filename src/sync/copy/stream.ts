// The initial copy into the container: when the sidecar's folder is empty (a new dev pod),
// the local tree goes in as one tar stream — `dd … count=LENGTH | tar -x` run by exec in the
// sync sidecar (the syncthing image has busybox), fed by the tar written here — instead of
// syncthing pulling it file by file (its receiver spends far more CPU per small file than
// tar). The sidecar then scans what arrived, and when the two syncthings connect every file
// is already equal: syncthing only records it, so syncthing stays the one source of truth
// and anything the copy missed or got wrong is synced the normal way. Modes are 0666/0777 and
// tar runs under umask 0, as the sidecar's syncthing writes with ignorePerms (the tree must be
// writable by the dev container's user); ownership is the sidecar user's (`tar -o`).

import { closeSync, readSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { closeWebSocket } from '../../kube/websocket.ts';
import type { ExecFn, ExecSocket, ExecStatus } from '../../kube/exec.ts';
import type { CopyPlan, PlannedEntry } from './plan.ts';
import { endOfArchive, padding, tarHeader } from './tar.ts';
import { openDir, openListedFile, openRoot, OpenDirs, type DirHandle } from './tree.ts';

/** Where the copy stands; `current` is the file being written when it stopped. */
export interface SeedProgress {
  files: number;
  bytes: number;
  current?: string;
  /**
   * Files that changed (size or mtime) or went away between planCopy and the moment
   * they were read: the stream keeps their planned size, so their copy in the
   * container may be wrong and is removed again (syncthing then sends them).
   */
  changed: string[];
}

const CHUNK = 1024 * 1024;

/** The one reused buffer the stream goes through: chunks of up to CHUNK bytes after `headroom` bytes of the caller's. */
class TarBuffer {
  readonly buffer: Buffer;
  readonly headroom: number;
  /** Bytes of tar data in the buffer after the headroom. */
  used = 0;
  total = 0;
  private readonly write: (chunk: Buffer) => Promise<void>;
  constructor(headroom: number, write: (chunk: Buffer) => Promise<void>) {
    this.headroom = headroom;
    this.write = write;
    this.buffer = Buffer.alloc(headroom + CHUNK);
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.buffer.subarray(0, this.headroom + this.used);
    this.used = 0;
    await this.write(chunk);
  }

  /** Room for at least `n` bytes (n ≤ CHUNK), flushing first when needed; returns the offset to write at. */
  private async room(n: number): Promise<number> {
    if (this.used + n > CHUNK) await this.flush();
    return this.headroom + this.used;
  }

  async put(data: Buffer): Promise<void> {
    const at = await this.room(data.length);
    data.copy(this.buffer, at);
    this.used += data.length;
    this.total += data.length;
  }

  async zeros(n: number): Promise<void> {
    while (n > 0) {
      const step = Math.min(n, 512);
      const at = await this.room(step);
      this.buffer.fill(0, at, at + step);
      this.used += step;
      this.total += step;
      n -= step;
    }
  }

  /** `size` bytes of the file `fd` (undefined: none), zeros where it ends early or cannot be read. */
  async file(fd: number | undefined, size: number): Promise<void> {
    for (let done = 0; done < size;) {
      if (this.used === CHUNK) await this.flush();
      const want = Math.min(CHUNK - this.used, size - done);
      const at = this.headroom + this.used;
      let got = 0;
      // EOF or a read error before `size`: the rest stays zero.
      while (fd !== undefined && got < want) {
        let n = 0;
        try {
          n = readSync(fd, this.buffer, at + got, want - got, done + got);
        } catch {
          /* zeros */
        }
        if (n <= 0) break;
        got += n;
      }
      if (got < want) this.buffer.fill(0, at + got, at + want);
      this.used += want;
      this.total += want;
      done += want;
    }
  }
}

/** One file's header and contents, read only while it is the one listed (else zeros, and it is `changed`). */
async function putFile(out: TarBuffer, entry: PlannedEntry, parent: DirHandle | undefined, name: string, dirs: OpenDirs, progress: SeedProgress): Promise<void> {
  const { size } = entry;
  progress.current = entry.rel;
  const opened = openListedFile(parent, name, entry, dirs.allStillThere);
  if (!opened) progress.changed.push(entry.rel);
  else if (opened.stat.size !== size || opened.stat.mtimeMs !== entry.mtimeMs) progress.changed.push(entry.rel);
  try {
    await out.file(opened?.fd, size);
    await out.zeros(padding(size));
    progress.files++;
    progress.bytes += size;
  } finally {
    if (opened) closeSync(opened.fd);
  }
}

/**
 * Writes the tar stream of `plan` through `write`, in chunks of up to 1 MB that all
 * live in one reused buffer: a chunk is valid only until the promise `write` returns
 * settles (the exec stream copies it at once), which keeps a transfer of any size at
 * a few allocations. `headroom` bytes in front of each chunk are the caller's (the
 * exec channel byte). Every entry gets exactly its planned size, so the stream is
 * exactly `plan.length` bytes long: a file that shrank or went away is padded with
 * zeros, one that grew is cut, and both are listed in `progress.changed`.
 */
export async function writeTar(root: string, plan: CopyPlan, write: (chunk: Buffer) => Promise<void>, progress: SeedProgress,
  headroom = 0): Promise<void> {
  const out = new TarBuffer(headroom, write);
  const top = openRoot(root, plan.root);
  if (!top) throw new Error(`${root} is not the directory that was listed`);
  const dirs = new OpenDirs(top);
  try {
    for (const entry of plan.entries) {
      await out.put(tarHeader(entry));
      const parent = dirs.parentOf(entry.rel);
      const name = entry.rel.slice(entry.rel.lastIndexOf('/') + 1);
      if (entry.type === 'file') {
        await putFile(out, entry, parent, name, dirs, progress);
        continue;
      }
      const dir = parent ? openDir(parent, name, entry) : undefined;
      // Replaced meanwhile: what tar made of it is removed again after the copy.
      if (!dir) progress.changed.push(entry.rel);
      dirs.push(entry.rel, dir);
    }
  } finally {
    dirs.closeAll();
  }
  progress.current = undefined;
  await out.zeros(endOfArchive(out.total));
  await out.flush();
  // The container's dd stops at plan.length: a stream of another length would cut the archive or hang tar.
  if (out.total !== plan.length) throw new Error(`internal error: the tar stream is ${out.total} bytes, planned ${plan.length}`);
}

export interface SeedOptions {
  exec: ExecFn;
  namespace: string;
  pod: string;
  container: string;
  /** The work dir in the container. */
  workdir: string;
  root: string;
  /**
   * What to send. A promise lets the exec open while the tree is still being listed
   * (listAndPlan); the container waits for the stream's length, its first line.
   */
  plan: CopyPlan | Promise<CopyPlan>;
  /** No progress for this long fails the copy. */
  stallMs?: number;
  debug?: (message: string) => void;
  signal?: AbortSignal;
}

/** A copy that did not complete; `current` is the file that may be half written. */
export class SeedError extends Error {
  readonly progress: SeedProgress;
  constructor(message: string, progress: SeedProgress) {
    super(message);
    this.progress = progress;
  }
}

/** Chunks on their way at once: each waits in a slot of this ring until ws has written it (1 MB frames cost the API server less CPU than small ones). */
const IN_FLIGHT = 2;

/**
 * The copy's command ends with a line on stderr that gives its exit status. On a real node
 * an exec whose process exits while stdin still has bytes on their way — tar failing half
 * way — may send no status and stay open as long as stdin does (which v4 cannot close):
 * without this line a failed copy would be noticed only by the stall watchdog.
 */
const EXIT_PREFIX = 'kubectl-dev-copy-exit: ';
const EXIT_LINE = new RegExp(`(?:^|\\n)${EXIT_PREFIX}(\\d+)\\n$`);
const EXIT_LINE_ANYWHERE = new RegExp(`(?:^|\\n)${EXIT_PREFIX}\\d+\\n`, 'g');
const V4 = 'v4.channel.k8s.io';
const V5 = 'v5.channel.k8s.io';
const STDIN = 0;
const CLOSE_STREAM = 255;

/**
 * tar gets the end of its input from dd, which stops after the stream's length (the first
 * line of stdin; the shell's read takes no byte past the newline): busybox tar reads to the
 * end of its input after the end-of-archive blocks, and over v4 the end of stdin cannot be
 * sent on its own. dd, not head: busybox head -c is several times slower. Should read or dd
 * fail, tar fails too or does not run, and so does the copy. The umask: an exec gets the
 * runtime's (0022), not the sidecar's, and a non-root tar applies it to the modes. The last
 * line on stderr is the exit status (EXIT_LINE).
 */
const copyCommand = (workdir: string) => ['sh', '-c', `umask 0000 && read -r n && dd bs=1048576 iflag=fullblock,count_bytes count="$n" | tar -x -o -f - -C "$1"; s=$?; echo "${EXIT_PREFIX}$s" >&2; exit $s`, 'sh', workdir];

function exitMessage(status: ExecStatus): string {
  const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  return code !== undefined ? `exit code ${code}` : status.message ?? status.status ?? 'failed';
}

/** One copy's exec as it goes: its status (from the exec or from the exit line), why it failed, its progress for the watchdog. */
class CopyRun {
  status: ExecStatus | undefined;
  why: string | undefined;
  failed: ((why: string) => void) | undefined;
  readonly failure: Promise<string>;
  readonly statusPromise: Promise<void>;
  readonly stdout = new Writable({ write: (_c, _e, cb) => cb() });
  readonly stderr: Writable;
  lastProgress = Date.now();
  stallMs: number;
  /** Not while the tree is still being listed: a big tree takes its time, and nothing is stuck. */
  planned = false;
  private statusArrived!: () => void;
  private errText = '';
  private errTail = '';

  constructor(stallMs: number) {
    this.stallMs = stallMs;
    this.statusPromise = new Promise<void>((resolve) => (this.statusArrived = resolve));
    this.failure = new Promise<string>((resolve) => (this.failed = resolve));
    void this.failure.then((w) => (this.why ??= w));
    this.stderr = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        const text = chunk.toString('utf8');
        if (this.errText.length < 2000) this.errText += text;
        // The command's own last line: its exit status, which the exec's status may never bring (see EXIT_LINE).
        this.errTail = (this.errTail + text).slice(-200);
        const exit = EXIT_LINE.exec(this.errTail);
        if (exit && !this.status) this.arrived(exit[1] === '0' ? { status: 'Success' } : { status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: exit[1] }] } });
        cb();
      },
    });
  }

  arrived(status: ExecStatus): void {
    this.status = status;
    this.statusArrived();
  }

  /** What tar said on stderr, without the exit line. */
  tarSaid(): string {
    return this.errText.replace(EXIT_LINE_ANYWHERE, '').trim();
  }

  /** Fails the copy after stallMs without progress, once the plan is there. */
  watch(): NodeJS.Timeout {
    const watchdog = setInterval(() => {
      if (this.planned && Date.now() - this.lastProgress > this.stallMs) this.failed?.(`no progress for ${Math.round(this.stallMs / 1000)} s`);
    }, 1000);
    watchdog.unref();
    return watchdog;
  }
}

/** Opens the copy's exec (bulk socket) and ties the socket's end and the abort to `run`. */
async function openCopyExec(options: SeedOptions, run: CopyRun, fail: (why: string) => never): Promise<ExecSocket> {
  let ws: ExecSocket;
  try {
    ws = await options.exec({
      namespace: options.namespace, pod: options.pod, container: options.container, command: copyCommand(options.workdir),
      stdout: run.stdout, stderr: run.stderr, stdin: new PassThrough(), tty: false, bulk: true, onStatus: (s) => run.arrived(s),
    });
  } catch (error) {
    const e = error as { message?: string; code?: number };
    return fail(`exec in ${options.pod}/${options.container}: ${e.message ?? String(error)}`);
  }
  options.debug?.(`initial copy: exec in ${options.pod}/${options.container} connected (${ws.protocol})`);
  // Before v4 the status channel carries no exit status: a failed tar would look like success.
  if (ws.protocol !== V4 && ws.protocol !== V5) {
    closeWebSocket(ws);
    return fail(`exec in ${options.pod}: the API server does not speak ${V4}`);
  }
  const tarSaid = () => run.tarSaid();
  ws.on('close', () => run.failed?.(`the exec stream closed${tarSaid() ? `: ${tarSaid().split('\n').pop()}` : ''}`));
  ws.on('error', (error) => run.failed?.(`exec stream: ${error.message}`));
  options.signal?.addEventListener('abort', () => run.failed?.('stopped'), { once: true });
  return ws;
}

/**
 * The tar as stdin frames (channel byte 0, then data), sent directly rather than through
 * client-node's stdin stream, which copies every chunk once more; at most IN_FLIGHT at once.
 */
async function sendTar(root: string, plan: CopyPlan, ws: ExecSocket, run: CopyRun, progress: SeedProgress, fail: (why: string) => never): Promise<void> {
  const free: Buffer[] = Array.from({ length: IN_FLIGHT }, () => Buffer.allocUnsafe(CHUNK + 1));
  let slotFreed: (() => void) | undefined;
  const stopped = () => run.status !== undefined || run.why !== undefined;
  await writeTar(root, plan, async (chunk) => {
    // tar's own exit status says more than the stream closing after it.
    if (run.status) fail(`tar ended early (${exitMessage(run.status)})${run.tarSaid() ? `: ${run.tarSaid().split('\n').pop()}` : ''}`);
    if (run.why !== undefined) fail(run.why);
    while (free.length === 0 && !stopped()) {
      // Waiting for the socket also lets I/O events in (the stream closing, tar's exit status).
      await Promise.race([new Promise<void>((r) => (slotFreed = r)), run.failure, run.statusPromise]);
    }
    if (stopped()) return;
    const slot = free.pop()!;
    chunk.copy(slot);
    slot[0] = STDIN;
    ws.send(slot.subarray(0, chunk.length), () => {
      free.push(slot);
      run.lastProgress = Date.now();
      slotFreed?.();
    });
  }, progress, 1);
}

/** Streams `entries` into `tar -x` in the container; resolves with what was copied. */
export async function seedContainer(options: SeedOptions): Promise<SeedProgress> {
  const progress: SeedProgress = { files: 0, bytes: 0, changed: [] };
  const run = new CopyRun(options.stallMs ?? 15_000);
  const fail = (why: string): never => {
    throw new SeedError(why, progress);
  };
  const ws = await openCopyExec(options, run, fail);
  run.lastProgress = Date.now();
  const watchdog = run.watch();
  try {
    const plan = await Promise.race([options.plan, run.failure.then((w) => fail(w))]);
    run.planned = true;
    run.lastProgress = Date.now();
    ws.send(Buffer.from(`\0${plan.length}\n`, 'latin1'), () => {});
    await sendTar(options.root, plan, ws, run, progress, fail);
    // v5 can say "end of stdin" (dd has stopped reading anyway); v4 cannot.
    if (ws.protocol === V5) ws.send(Buffer.from([CLOSE_STREAM, STDIN]), () => {});
    // What is still buffered on the way may take tar a while to write out on a slow disk.
    run.lastProgress = Date.now();
    run.stallMs = Math.max(run.stallMs, 60_000);
    await Promise.race([run.statusPromise, run.failure]);
    const status = run.status;
    if (!status) return fail(run.why ?? 'no exit status');
    if (status.status !== 'Success') fail(`tar in the container failed (${exitMessage(status)})${run.tarSaid() ? `: ${run.tarSaid().split('\n').slice(-2).join(' | ')}` : ''}`);
    progress.current = undefined;
    return progress;
  } finally {
    clearInterval(watchdog);
    run.failed = undefined;
    closeWebSocket(ws);
  }
}

/**
 * Undoes a copy that did not complete (best effort): removes the top-level
 * entries it sent. The copy only runs into a folder syncthing knows to be empty,
 * so these are the copy's own; syncthing then copies everything the usual way,
 * and no half-written file is left to become a conflict.
 */
export async function removeInContainer(options: Pick<SeedOptions, 'exec' | 'namespace' | 'pod' | 'container' | 'workdir'>, rels: readonly string[], timeoutMs = 10_000): Promise<boolean> {
  if (rels.length === 0) return true;
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  const base = options.workdir.replace(/\/+$/, '');
  let ws: ExecSocket | undefined;
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (status?: ExecStatus) => {
      clearTimeout(timer);
      resolve(status?.status === 'Success');
    };
    options.exec({
      namespace: options.namespace, pod: options.pod, container: options.container, command: ['rm', '-rf', '--', ...rels.map((r) => `${base}/${r}`)],
      stdout: sink(), stderr: sink(), stdin: new PassThrough(), tty: false, bulk: true, onStatus: done,
    }).then((socket) => (ws = socket), () => done());
  });
  closeWebSocket(ws);
  return ok;
}
