// Starts and stops the test control plane: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler (all from the testcluster binary)
// and KWOK, each one process, all on 127.0.0.1 with free ports, under one run
// directory holding certificates, etcd data, logs, the kubeconfig and the pids; and,
// where the machine allows it, one real node (containerd + kubelet, node.ts).
//
//   const c = await startCluster();   // builds first if needed
//   c.kubeconfigPath                  // admin kubeconfig (O=system:masters)
//   await c.stop();                   // or stopCluster(c.dir) from another process
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import YAML from 'yaml';
import { ensureBuilt, repoRoot, type Binaries, type BuildOptions } from './build.lib.ts';
import { writePki, type Pki } from './pki.ts';
import { buildImages } from './images.ts';
import {
  KWOK_TAINT, REAL_NODE_NAME, cleanupRealNode, ensureNodeBuilt, kubeletArgs, prepareRealNode, readRealNodeRecord, realNodeProblems,
} from './node.ts';

export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'containerd', 'kubelet'] as const;
export type Component = (typeof COMPONENTS)[number];

/** The kinds KWOK serves from CRDs (its --enable-crds). */
export const KWOK_CRDS = ['PortForward', 'ClusterPortForward', 'Exec', 'ClusterExec', 'Logs', 'ClusterLogs'] as const;

export const NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export interface StartOptions {
  /** Run directory; default `<repo>/.testcluster/default`. Removed and recreated. */
  dir?: string;
  /** Number of KWOK nodes, named kwok-node-0..n-1; default 2. */
  nodes?: number;
  /**
   * One real node (kubelet + containerd, named 127.0.0.1): true requires it (fails naming
   * what the machine lacks), false never starts it, 'auto' (the default) starts it where
   * the machine allows it. With a real node, KWOK nodes are tainted (KWOK_TAINT).
   */
  realNode?: boolean | 'auto';
  /** Fixed ports instead of free ones. */
  ports?: Partial<Record<'etcd' | 'etcdPeer' | 'apiserver' | 'kwok', number>>;
  /** Extra flags per component (appended last, so they win). */
  extraArgs?: Partial<Record<Component, string[]>>;
  /**
   * true (the default): the components die with this process (PR_SET_PDEATHSIG),
   * for test runs. false: they outlive it, for `npm run cluster:up`.
   */
  owned?: boolean;
  /** Overall readiness timeout; default 120 s. */
  timeoutMs?: number;
  /** Progress output; default: nothing. */
  log?: (line: string) => void;
  build?: BuildOptions;
  /** Use these binaries instead of building. */
  binaries?: Binaries;
  /** Aborting it (Ctrl-C in cluster:up) stops the start and everything started so far. */
  signal?: AbortSignal;
}

export interface Cluster {
  dir: string;
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  nodes: string[];
  /** The real node's name, when the cluster has one. */
  realNode: string | undefined;
  ports: { etcd: number; etcdPeer: number; apiserver: number; kwok: number };
  /** Milliseconds from start (after the build) to ready. */
  startupMs: number;
  stop(): Promise<void>;
}

interface ProcEntry {
  name: Component;
  pid: number;
  log: string;
}

interface State {
  kubeconfig: string;
  server: string;
  processes: ProcEntry[];
  startedAt: string;
}

export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
  component: Component | undefined;
  constructor(message: string, component?: Component) {
    super(message);
    this.component = component;
  }
}

export const defaultRunDir = (): string => path.join(repoRoot, '.testcluster', 'default');

const statePath = (dir: string) => path.join(dir, 'state.json');

function readState(dir: string): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath(dir), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

function writeState(dir: string, state: State): void {
  const tmp = statePath(dir) + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, statePath(dir));
}

/** Last `n` lines of a file (best effort). */
export function tailFile(file: string, n = 25): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').filter((l) => l.trim() !== '').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie is dead for our purposes.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** Still our process (guards against pid reuse)? */
function isOurs(p: ProcEntry): boolean {
  if (!isAlive(p.pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
    return ['testcluster', 'kwok', 'containerd', 'kubelet'].some((name) => cmdline.includes(name));
  } catch {
    return process.platform !== 'linux';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  // Every component is a process-group leader (spawned detached).
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops the processes one by one in reverse start order (so the API server can
 * still reach etcd while it shuts down): SIGTERM, then SIGKILL after `graceMs`.
 */
export async function killProcesses(procs: ProcEntry[], graceMs = 3000): Promise<void> {
  for (const p of [...procs].reverse()) {
    if (!isOurs(p)) continue;
    signal(p.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(p.pid) && Date.now() < deadline) await sleep(20);
    if (isAlive(p.pid)) signal(p.pid, 'SIGKILL');
    const hard = Date.now() + 5000;
    while (isAlive(p.pid) && Date.now() < hard) await sleep(20);
  }
}

/** Synchronous last resort (process 'exit' handlers): SIGKILL every process group. */
export function killProcessesSync(procs: ProcEntry[]): void {
  for (const p of procs) if (isOurs(p)) signal(p.pid, 'SIGKILL');
}

/**
 * Stops the cluster whose run directory is `dir` (processes by pid from
 * state.json) and removes the directory.
 */
export async function stopCluster(dir: string = defaultRunDir(), opts: { keep?: boolean } = {}): Promise<void> {
  const state = readState(dir);
  if (state) await removeProvisionedVolumes(dir, state.server);
  if (state) await killProcesses(state.processes);
  const node = readRealNodeRecord(dir);
  if (node) cleanupRealNode(node);
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
}

const HOST_PATH_PV_DIR = '/tmp/hostpath_pv';

/** Removes the directories the host-path provisioner made for this cluster's PVs (asked of its API server). */
async function removeProvisionedVolumes(dir: string, server: string): Promise<void> {
  const pki = path.join(dir, 'pki');
  let list: { items?: Array<{ spec?: { hostPath?: { path?: string } } }> };
  try {
    const tls = { ca: fs.readFileSync(path.join(pki, 'ca.crt')), cert: fs.readFileSync(path.join(pki, 'admin.crt')), key: fs.readFileSync(path.join(pki, 'admin.key')) };
    const r = await apiRequest(server, tls, 'GET', '/api/v1/persistentvolumes', undefined, 3000);
    if (r.status !== 200) return;
    list = r.json();
  } catch {
    return; // API server gone: nothing to ask
  }
  for (const pv of list.items ?? []) {
    const p = pv.spec?.hostPath?.path;
    if (p && path.dirname(p) === HOST_PATH_PV_DIR) fs.rmSync(p, { recursive: true, force: true });
  }
  try {
    fs.rmdirSync(HOST_PATH_PV_DIR);
  } catch {
    /* other clusters' volumes, or none */
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Distinct free ports. */
async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Minimal HTTPS JSON request against the apiserver with the admin cert. */
export function apiRequest(
  server: string,
  tls: Tls,
  method: string,
  urlPath: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<{ status: number; text: string; json: () => any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = https.request(
      new URL(urlPath, server),
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        timeout: timeoutMs,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
    req.on('error', reject);
    req.end(data);
  });
}

function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function writeKubeconfig(file: string, server: string, pki: Pki): void {
  const b64 = (f: string) => fs.readFileSync(f).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kubectl-dev-test', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [
      {
        name: 'kubernetes-admin',
        user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) },
      },
    ],
    contexts: [{ name: 'kubectl-dev-test', context: { cluster: 'kubectl-dev-test', user: 'kubernetes-admin', namespace: 'default' } }],
    'current-context': 'kubectl-dev-test',
    preferences: {},
  };
  fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
}

/** PVCs bind to directories under /tmp/hostpath_pv on this machine (kube-controller-manager's host-path provisioner). */
export const DEFAULT_STORAGE_CLASS = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'kubernetes.io/host-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'Immediate',
};

function nodeManifest(name: string, tainted: boolean) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: tainted ? { taints: [KWOK_TAINT] } : {},
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      nodeInfo: {
        architecture: 'amd64',
        kubeProxyVersion: 'fake',
        kubeletVersion: 'fake',
        operatingSystem: 'linux',
      },
      phase: 'Running',
    },
  };
}

export async function startCluster(opts: StartOptions = {}): Promise<Cluster> {
  const dir = path.resolve(opts.dir ?? defaultRunDir());
  const log = opts.log ?? (() => {});
  const owned = opts.owned ?? true;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const nodeCount = opts.nodes ?? 2;

  const bins = opts.binaries ?? (await ensureBuilt({ log, ...opts.build }));
  const wantNode = opts.realNode ?? 'auto';
  let realNode = false;
  if (wantNode !== false) {
    const problems = realNodeProblems();
    if (problems.length > 0 && wantNode === true) {
      throw new ClusterStartError(`a real node cannot run on this machine:\n- ${problems.join('\n- ')}\n(pass --no-real-node for a KWOK-only cluster)`, 'kubelet');
    }
    if (problems.length > 0) log(`no real node (${problems.join('; ')}); KWOK nodes only`);
    realNode = problems.length === 0;
  }
  const nodeBins = realNode ? ensureNodeBuilt(log) : undefined;
  const images = realNode ? buildImages(log) : [];

  // A previous run in the same directory: stop it first.
  await stopCluster(dir);
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });

  const pki = writePki(path.join(dir, 'pki'));
  const tls: Tls = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) };
  const [pEtcd, pPeer, pApi, pKwok, pKubelet, pHealthz] = await freePorts(6);
  const ports = {
    etcd: opts.ports?.etcd ?? pEtcd!,
    etcdPeer: opts.ports?.etcdPeer ?? pPeer!,
    apiserver: opts.ports?.apiserver ?? pApi!,
    kwok: opts.ports?.kwok ?? pKwok!,
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, server, pki);

  const state: State = { kubeconfig: kubeconfigPath, server, processes: [], startedAt: new Date().toISOString() };
  writeState(dir, state);
  const children = new Map<Component, ChildProcess>();
  let failure: ClusterStartError | undefined;
  let rejectFailure: (e: ClusterStartError) => void = () => {};
  const failed = new Promise<never>((_, reject) => (rejectFailure = reject));
  failed.catch(() => {});

  const logFile = (name: Component) => path.join(dir, 'logs', `${name}.log`);

  const launch = (name: Component, command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    if (opts.signal?.aborted) throw new ClusterStartError('interrupted while starting', name);
    const file = logFile(name);
    const fd = fs.openSync(file, 'a');
    fs.writeSync(fd, `# ${[command, ...args].join(' ')}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
    if (owned) env.TESTCLUSTER_PDEATHSIG = '1';
    else delete env.TESTCLUSTER_PDEATHSIG;
    const child = spawn(command, [...args, ...(opts.extraArgs?.[name] ?? [])], {
      cwd: dir,
      env,
      detached: true, // own process group: stopped as a group, not hit by the terminal's Ctrl-C first
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    if (!owned) child.unref();
    children.set(name, child);
    if (child.pid) {
      state.processes.push({ name, pid: child.pid, log: file });
      writeState(dir, state);
    }
    const onEnd = (how: string) => {
      if (failure) return;
      failure = new ClusterStartError(`${name} exited early (${how}); last lines of ${file}:\n${tailFile(file)}`, name);
      rejectFailure(failure);
    };
    child.on('error', (e) => onEnd(`failed to start: ${e.message}`));
    child.on('exit', (code, sig) => onEnd(sig ? `signal ${sig}` : `exit code ${code}`));
  };

  /** Polls `check` until it returns true; fails on a component exit or the deadline. */
  const waitFor = async (what: string, blame: Component, check: () => Promise<boolean>) => {
    for (;;) {
      if (failure) throw failure;
      if (opts.signal?.aborted) throw new ClusterStartError(`interrupted while waiting for ${what}`, blame);
      let ok = false;
      try {
        ok = await Promise.race([check(), failed]);
      } catch (e) {
        if (e instanceof ClusterStartError) throw e;
      }
      if (ok) return;
      if (Date.now() > deadline) {
        throw new ClusterStartError(
          `timed out after ${timeoutMs / 1000} s waiting for ${what}; last lines of ${logFile(blame)}:\n${tailFile(logFile(blame))}`,
          blame,
        );
      }
      await Promise.race([sleep(100), failed]);
    }
  };
  const api = (method: string, p: string, body?: unknown) => apiRequest(server, tls, method, p, body);

  try {
    // etcd
    launch('etcd', bins.testcluster, [
      'etcd',
      '--name=testcluster',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-url=http://127.0.0.1:${ports.etcd}`,
      `--listen-peer-url=http://127.0.0.1:${ports.etcdPeer}`,
    ]);
    await waitFor('etcd /health', 'etcd', async () => {
      const r = await httpGet(`http://127.0.0.1:${ports.etcd}/health`);
      return r.status === 200 && r.text.includes('"true"');
    });
    log(`etcd ready (${Date.now() - t0} ms)`);

    // kube-apiserver
    launch('kube-apiserver', bins.testcluster, [
      'kube-apiserver',
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${path.join(dir, 'apiserver')}`,
      `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
      `--tls-cert-file=${pki.adminCert}`,
      `--tls-private-key-file=${pki.adminKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=Node,RBAC',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--kubelet-preferred-address-types=InternalIP',
      `--proxy-client-cert-file=${pki.adminCert}`,
      `--proxy-client-key-file=${pki.adminKey}`,
      // How it authenticates to kubelets (the real node's checks it against the cluster CA).
      `--kubelet-client-certificate=${pki.adminCert}`,
      `--kubelet-client-key=${pki.adminKey}`,
      '--profiling=false',
    ]);
    await waitFor('kube-apiserver /readyz', 'kube-apiserver', async () => {
      const r = await api('GET', '/readyz', undefined);
      return r.status === 200;
    });
    log(`kube-apiserver ready (${Date.now() - t0} ms)`);

    launch('kube-controller-manager', bins.testcluster, [
      'kube-controller-manager',
      `--kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--kube-api-qps=1000',
      '--kube-api-burst=1000',
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      // The storage every real cluster has: PVCs of the default StorageClass bind to host directories.
      '--enable-hostpath-provisioner=true',
    ]);
    launch('kube-scheduler', bins.testcluster, [
      'kube-scheduler',
      `--kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--kube-api-qps=1000',
      '--kube-api-burst=1000',
    ]);

    // KWOK CRDs, then KWOK itself.
    const crdNames: string[] = [];
    for (const f of fs.readdirSync(bins.kwokCrdDir).sort()) {
      const crd = YAML.parse(fs.readFileSync(path.join(bins.kwokCrdDir, f), 'utf8'));
      crdNames.push(crd.metadata.name);
      const r = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (r.status !== 201 && r.status !== 409) throw new ClusterStartError(`creating CRD ${crd.metadata.name}: HTTP ${r.status} ${r.text}`, 'kube-apiserver');
    }
    await waitFor('KWOK CRDs Established', 'kube-apiserver', async () => {
      for (const name of crdNames) {
        const r = await api('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        if (r.status !== 200) return false;
        const conds: { type: string; status: string }[] = r.json().status?.conditions ?? [];
        if (!conds.some((c) => c.type === 'Established' && c.status === 'True')) return false;
      }
      return true;
    });

    const kwokConfig = path.join(dir, 'kwok.yaml');
    // KWOK's default stages, except where test/cluster/stages/ has a file of the same name.
    const ownStages = path.join(repoRoot, 'test', 'cluster', 'stages');
    const stageFile = (f: string) => (fs.existsSync(path.join(ownStages, f)) ? path.join(ownStages, f) : path.join(bins.kwokStageDir, f));
    fs.writeFileSync(
      kwokConfig,
      fs
        .readdirSync(bins.kwokStageDir)
        .sort()
        .map((f) => fs.readFileSync(stageFile(f), 'utf8').trim())
        .join('\n---\n') + '\n',
    );
    const kwokArgs = [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${NODE_ANNOTATION}=fake`,
      `--tls-cert-file=${pki.adminCert}`,
      `--tls-private-key-file=${pki.adminKey}`,
      '--node-ip=127.0.0.1',
      '--node-name=localhost',
      `--node-port=${ports.kwok}`,
      `--server-address=127.0.0.1:${ports.kwok}`,
      '--node-lease-duration-seconds=40',
      `--enable-crds=${KWOK_CRDS.join(',')}`,
    ];
    // Through `testcluster exec` so that the parent-death signal applies to kwok too.
    launch('kwok', bins.testcluster, ['exec', bins.kwok, ...kwokArgs]);

    const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    for (const n of nodes) {
      const r = await api('POST', '/api/v1/nodes', nodeManifest(n, realNode));
      if (r.status !== 201 && r.status !== 409) throw new ClusterStartError(`creating node ${n}: HTTP ${r.status} ${r.text}`, 'kube-apiserver');
    }

    await waitFor('KWOK nodes Ready', 'kwok', async () => {
      const r = await api('GET', '/api/v1/nodes');
      if (r.status !== 200) return false;
      const items: any[] = r.json().items;
      const ready = items.filter((n) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return nodes.every((n) => ready.some((r) => r.metadata.name === n));
    });
    log(`nodes Ready (${Date.now() - t0} ms)`);
    const sc = await api('POST', '/apis/storage.k8s.io/v1/storageclasses', DEFAULT_STORAGE_CLASS);
    if (sc.status !== 201) throw new ClusterStartError(`creating the default StorageClass: HTTP ${sc.status} ${sc.text}`, 'kube-apiserver');
    if (realNode && nodeBins) {
      const layout = prepareRealNode({ dir, server, pki, kubeletPort: pKubelet!, healthzPort: pHealthz! });
      const ctr = (...args: string[]) => new Promise<{ code: number; out: string }>((resolve) => {
        const child = spawn(nodeBins.ctr, ['--address', layout.socket, '--namespace', 'k8s.io', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (out += d));
        child.on('close', (code) => resolve({ code: code ?? 1, out }));
        child.on('error', (e) => resolve({ code: 1, out: e.message }));
      });
      // Any pull must fail at once, with no DNS lookup: images come only from buildImages.
      const noRegistry = { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '', PATH: `${path.dirname(nodeBins.shim)}:${process.env.PATH ?? ''}` };
      launch('containerd', bins.testcluster, ['exec', nodeBins.containerd, `--config=${layout.containerdConfig}`], noRegistry);
      await waitFor('containerd', 'containerd', async () => (await ctr('version')).code === 0);
      await Promise.all(images.map(async ([name, archive]) => {
        const r = await ctr('images', 'import', archive);
        if (r.code !== 0) throw new ClusterStartError(`importing ${name} into the real node failed:\n${r.out}`, 'containerd');
      }));
      log(`containerd ready, ${images.length} images imported (${Date.now() - t0} ms)`);
      launch('kubelet', bins.testcluster, ['exec', nodeBins.kubelet, ...kubeletArgs(layout)], noRegistry);
      await waitFor(`node ${REAL_NODE_NAME} Ready`, 'kubelet', async () => {
        const r = await api('GET', `/api/v1/nodes/${REAL_NODE_NAME}`);
        return r.status === 200 && r.json().status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
      });
      log(`real node ${REAL_NODE_NAME} Ready (${Date.now() - t0} ms)`);
    }
    await waitFor('the default ServiceAccount in namespace default', 'kube-controller-manager', async () => {
      const r = await api('GET', '/api/v1/namespaces/default/serviceaccounts/default');
      return r.status === 200;
    });
    // The scheduler must be up too; it has no port, so check it is still running.
    await sleep(0);
    if (failure) throw failure;
    const startupMs = Date.now() - t0;
    log(`cluster ready in ${startupMs} ms: ${kubeconfigPath}`);

    for (const c of children.values()) c.removeAllListeners('exit');
    return {
      dir,
      kubeconfigPath,
      server,
      nodes: realNode ? [REAL_NODE_NAME, ...nodes] : nodes,
      realNode: realNode ? REAL_NODE_NAME : undefined,
      ports,
      startupMs,
      stop: () => stopCluster(dir),
    };
  } catch (e) {
    // Leave nothing running; keep the logs for the error message, then remove the state.
    await killProcesses(state.processes);
    const node = readRealNodeRecord(dir);
    if (node) cleanupRealNode(node);
    for (const c of children.values()) c.removeAllListeners('exit');
    const err = e instanceof ClusterStartError ? e : new ClusterStartError(`starting the test cluster failed: ${(e as Error).message}`);
    fs.rmSync(statePath(dir), { force: true });
    throw err;
  }
}

/** The pids recorded for a run directory (for signal handlers). */
export function clusterProcesses(dir: string): ProcEntry[] {
  return readState(dir)?.processes ?? [];
}
