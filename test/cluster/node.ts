// The test cluster's real node: containerd + runc + CNI bridge + a kubelet built from the
// control plane's own module, all under the run directory, node name 127.0.0.1.
//
//   realNodeProblems()       what this machine lacks for a real node ([] = it can run one)
//   ensureNodeBuilt()        kubelet (go build in test/cluster), containerd v2.3.7 (go install)
//   prepareRealNode(...)     bridge, configs, the host state to restore (recorded in state.json)
//   cleanupRealNode(record)  everything the node left outside its processes; safe to repeat
//
// The machine facts behind each setting are in ../shared/FACTS.md ("A real node") and
// README.md next to this file.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { BuildError, KUBERNETES_VERSION, cacheDir, clusterSourceDir } from './build.lib.ts';
import { writeNodeCert, type Pki } from './pki.ts';

export const CONTAINERD_VERSION = 'v2.3.7';
export const REAL_NODE_NAME = '127.0.0.1';
export const REAL_NODE_LABEL = 'kubectl-dev.test/real-node';
/** KWOK nodes carry this taint when a real node is present: ordinary pods land on the real node. */
export const KWOK_TAINT = { key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' } as const;
export const POD_CIDR = '10.244.0.0/24';
const BRIDGE_ADDRESS = '10.244.0.1/24';
const BRIDGE = 'kdevtest0';
const RUNC = '/usr/sbin/runc';
const CNI_BIN_DIR = '/usr/lib/cni';
/** Host paths the kubelet, containerd or CNI create outside their configured directories. */
const HOST_PATHS = ['/run/containerd', '/run/nri', '/var/lib/cni', '/var/lib/kubelet', '/run/mount'];
/** Sysctls the kubelet sets on start (protectKernelDefaults false): restored on cleanup. */
const SYSCTLS = ['vm.overcommit_memory', 'vm.panic_on_oom', 'kernel.panic', 'kernel.panic_on_oops', 'kernel.keys.root_maxkeys', 'kernel.keys.root_maxbytes'];
const LOCK = '/run/kubectl-dev-test-real-node.lock';

export interface NodeBinaries {
  kubelet: string;
  containerd: string;
  shim: string;
  ctr: string;
}

export function nodeBinaryPaths(cache = cacheDir()): NodeBinaries {
  const ctrd = path.join(cache, 'bin', `containerd-${CONTAINERD_VERSION}`);
  return {
    kubelet: path.join(cache, 'bin', 'kubelet'),
    containerd: path.join(ctrd, 'containerd'),
    shim: path.join(ctrd, 'containerd-shim-runc-v2'),
    ctr: path.join(ctrd, 'ctr'),
  };
}

const has = (cmd: string, args: string[] = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/** What stops this machine from running the real node, each with what to do; [] when nothing. */
export function realNodeProblems(): string[] {
  const problems: string[] = [];
  if (process.platform !== 'linux') return [`a real node needs Linux (this is ${process.platform})`];
  if (process.getuid?.() !== 0) problems.push('a real node needs root (the kubelet and containerd manage mounts, cgroups and network namespaces)');
  if (!fs.existsSync(RUNC)) problems.push(`${RUNC} is missing: apt-get install runc`);
  for (const plugin of ['bridge', 'host-local', 'loopback']) {
    if (!fs.existsSync(path.join(CNI_BIN_DIR, plugin))) problems.push(`${CNI_BIN_DIR}/${plugin} is missing: apt-get install containernetworking-plugins`);
  }
  if (!fs.existsSync('/usr/bin/busybox')) problems.push('/usr/bin/busybox is missing (the images\' shell): apt-get install busybox-static');
  if (!has('ip', ['-V'])) problems.push('`ip` is missing: apt-get install iproute2');
  if (!has('gcc')) problems.push('gcc is missing (builds the pause image): apt-get install gcc libc6-dev');
  if (!fs.existsSync('/sys/fs/cgroup/memory') && !fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) problems.push('no cgroup hierarchy under /sys/fs/cgroup');
  if (problems.length === 0 && fs.existsSync(LOCK)) {
    const owner = readLock();
    const running = owner ? nodeProcesses(owner.dir) : [];
    if (owner && running.length > 0) problems.push(`another test cluster's real node runs (${owner.dir}, pid ${running[0]}); stop it with npm run cluster:down -- --dir=${owner.dir}`);
  }
  return problems;
}

/** Live processes of the real node of the cluster in `dir` (their command lines name its node directory). */
function nodeProcesses(dir: string): number[] {
  const mark = path.join(dir, 'node') + '/';
  return procEntries().filter((p) => p.cmdline.includes(mark)).map((p) => p.pid);
}

function readLock(): { dir: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(LOCK, 'utf8'));
  } catch {
    return undefined;
  }
}

function isAlivePid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function goRun(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; log: (l: string) => void }): void {
  opts.log(`$ go ${args.join(' ')}`);
  const r = spawnSync(process.env.GO ?? 'go', args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new BuildError(`\`go ${args.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr ?? '').slice(-4000)}`);
}

/** Builds the kubelet and containerd into the cache when missing. */
export function ensureNodeBuilt(log: (l: string) => void = (l) => process.stderr.write(l + '\n')): NodeBinaries {
  const bins = nodeBinaryPaths();
  const stamp = path.join(path.dirname(bins.kubelet), 'kubelet.stamp');
  const kubeletKey = `${KUBERNETES_VERSION}\n${fs.readFileSync(path.join(clusterSourceDir, 'go.sum'), 'utf8').length}`;
  if (!fs.existsSync(bins.kubelet) || !fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== kubeletKey) {
    log(`building kubelet ${KUBERNETES_VERSION} (the control plane's module; ~3 min cold)`);
    const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
    const pkg = 'k8s.io/component-base/version';
    const ldflags = `-s -w -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean`;
    fs.mkdirSync(path.dirname(bins.kubelet), { recursive: true });
    goRun(['build', '-mod=readonly', '-ldflags', ldflags, '-o', `${bins.kubelet}.tmp`, 'k8s.io/kubernetes/cmd/kubelet'], { cwd: clusterSourceDir, log });
    fs.renameSync(`${bins.kubelet}.tmp`, bins.kubelet);
    fs.writeFileSync(stamp, kubeletKey);
  }
  if (![bins.containerd, bins.shim, bins.ctr].every((f) => fs.existsSync(f))) {
    log(`building containerd ${CONTAINERD_VERSION} (Go module proxy; ~1 min cold)`);
    const gobin = path.dirname(bins.containerd);
    const tmp = `${gobin}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    goRun(['install', '-tags', 'no_btrfs no_devmapper no_zfs', ...['containerd', 'containerd-shim-runc-v2', 'ctr'].map((c) => `github.com/containerd/containerd/v2/cmd/${c}@${CONTAINERD_VERSION}`)], {
      cwd: cacheDir(), env: { GOBIN: tmp, CGO_ENABLED: '0', GOFLAGS: '', GOWORK: 'off' }, log,
    });
    fs.rmSync(gobin, { recursive: true, force: true });
    fs.renameSync(tmp, gobin);
  }
  return bins;
}

/** What the real node changed on the host, recorded before it changed it. */
export interface RealNodeRecord {
  dir: string;
  bridge: string;
  socket: string;
  /** HOST_PATHS that did not exist before the node started (removed on cleanup). */
  createdPaths: string[];
  sysctls: Record<string, string>;
  /** cgroup directories named kubepods that did not exist before. */
  cgroups: string[];
}

export interface RealNodeLayout {
  root: string;
  socket: string;
  containerdConfig: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeletRoot: string;
  record: RealNodeRecord;
}

function readSysctl(name: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function cgroupKubepods(): string[] {
  let controllers: string[] = [];
  try {
    controllers = fs.readdirSync('/sys/fs/cgroup');
  } catch {
    return [];
  }
  return controllers.map((c) => path.join('/sys/fs/cgroup', c, 'kubepods')).filter((d) => fs.existsSync(path.dirname(d)) && fs.statSync(path.dirname(d)).isDirectory());
}

/**
 * Writes the node's configs under `<dir>/node`, records the host state it will change,
 * creates the bridge and takes the machine-wide lock (one real node per machine: the
 * kubelet's cgroups and sysctls are machine-wide).
 */
export function prepareRealNode(opts: { dir: string; server: string; pki: Pki; kubeletPort: number; healthzPort: number }): RealNodeLayout {
  const root = path.join(opts.dir, 'node');
  fs.mkdirSync(root, { recursive: true });
  const socket = path.join(root, 'containerd', 'containerd.sock');
  const record: RealNodeRecord = {
    dir: opts.dir,
    bridge: BRIDGE,
    socket,
    createdPaths: HOST_PATHS.filter((p) => !fs.existsSync(p)),
    sysctls: Object.fromEntries(SYSCTLS.map((s) => [s, readSysctl(s)]).filter(([, v]) => v !== undefined)) as Record<string, string>,
    cgroups: cgroupKubepods().filter((d) => !fs.existsSync(d)),
  };
  fs.writeFileSync(path.join(root, 'record.json'), JSON.stringify(record, null, 2) + '\n');
  fs.writeFileSync(LOCK, JSON.stringify({ dir: opts.dir }));

  // The bridge the CNI plugin attaches pods to; the host reaches pod IPs through it.
  spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
  for (const args of [['link', 'add', BRIDGE, 'type', 'bridge'], ['addr', 'add', BRIDGE_ADDRESS, 'dev', BRIDGE], ['link', 'set', BRIDGE, 'up']]) {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const cniConfDir = path.join(root, 'cni', 'net.d');
  fs.mkdirSync(cniConfDir, { recursive: true });
  fs.writeFileSync(path.join(cniConfDir, '10-kubectl-dev-test.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'kubectl-dev-test',
    plugins: [{
      type: 'bridge', bridge: BRIDGE, isGateway: false, ipMasq: false, hairpinMode: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], dataDir: path.join(root, 'cni', 'ipam') },
    }],
  }, null, 2));

  const containerdConfig = path.join(root, 'containerd.toml');
  const q = (v: string) => JSON.stringify(v);
  fs.writeFileSync(containerdConfig, [
    'version = 4',
    `root = ${q(path.join(root, 'containerd', 'root'))}`,
    `state = ${q(path.join(root, 'containerd', 'state'))}`,
    'imports = []',
    "[plugins.'io.containerd.server.v1.grpc']",
    `  address = ${q(socket)}`,
    "[plugins.'io.containerd.server.v1.ttrpc']",
    `  address = ${q(socket + '.ttrpc')}`,
    "[plugins.'io.containerd.internal.v1.opt']",
    `  path = ${q(path.join(root, 'containerd', 'opt'))}`,
    "[plugins.'io.containerd.nri.v1.nri']",
    '  disable = true',
    "[plugins.'io.containerd.cri.v1.runtime']",
    // Without it every sandbox fails: no CAP_SYS_RESOURCE here, so oom_score_adj cannot be lowered.
    '  restrict_oom_score_adj = true',
    '  netns_mounts_under_state_dir = true',
    "  [plugins.'io.containerd.cri.v1.runtime'.containerd]",
    "    default_runtime_name = 'runc'",
    "    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
    "      runtime_type = 'io.containerd.runc.v2'",
    "      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
    `        BinaryName = ${q(RUNC)}`,
    '        SystemdCgroup = false',
    "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
    `    bin_dirs = [${q(CNI_BIN_DIR)}]`,
    `    conf_dir = ${q(cniConfDir)}`,
    "[plugins.'io.containerd.cri.v1.images']",
    "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
    "    sandbox = 'registry.k8s.io/pause:3.10'",
    "[plugins.'io.containerd.grpc.v1.cri']",
    "  stream_server_address = '127.0.0.1'",
    "  stream_server_port = '0'",
    '',
  ].join('\n'));

  const nodeCert = writeNodeCert(opts.pki, REAL_NODE_NAME);
  const b64 = (f: string) => fs.readFileSync(f).toString('base64');
  const kubeletKubeconfig = path.join(root, 'kubelet.kubeconfig');
  fs.writeFileSync(kubeletKubeconfig, YAML.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: opts.server, 'certificate-authority-data': b64(opts.pki.caCert) } }],
    users: [{ name: 'kubelet', user: { 'client-certificate-data': b64(nodeCert.cert), 'client-key-data': b64(nodeCert.key) } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'kubelet' } }],
    'current-context': 'test',
  }), { mode: 0o600 });

  const kubeletRoot = path.join(root, 'kubelet');
  fs.mkdirSync(kubeletRoot, { recursive: true });
  const kubeletConfig = path.join(root, 'kubelet.yaml');
  fs.writeFileSync(kubeletConfig, YAML.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '127.0.0.1',
    port: opts.kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: opts.healthzPort,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: opts.pki.caCert } },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${socket}`,
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    resolvConf: '',
    podCIDR: POD_CIDR,
    clusterDomain: 'cluster.local',
    serializeImagePulls: false,
    // Imported images have no registry to come back from.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '1%', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    shutdownGracePeriod: '0s',
    shutdownGracePeriodCriticalPods: '0s',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    nodeStatusReportFrequency: '10s',
    maxPods: 110,
    registerNode: true,
  }));
  return { root, socket, containerdConfig, kubeletConfig, kubeletKubeconfig, kubeletRoot, record };
}

/** The kubelet's command-line flags (the rest is in its config file). */
export function kubeletArgs(layout: RealNodeLayout): string[] {
  return [
    `--config=${layout.kubeletConfig}`,
    `--kubeconfig=${layout.kubeletKubeconfig}`,
    `--root-dir=${layout.kubeletRoot}`,
    `--cert-dir=${path.join(layout.root, 'kubelet-pki')}`,
    // The kubelet refuses a loopback --node-ip; as the hostname it gives InternalIP 127.0.0.1.
    `--hostname-override=${REAL_NODE_NAME}`,
    `--node-labels=${REAL_NODE_LABEL}=true`,
    '--v=1',
  ];
}

function procEntries(): Array<{ pid: number; ppid: number; cmdline: string }> {
  const out: Array<{ pid: number; ppid: number; cmdline: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, cmdline: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** SIGKILLs the node's shims and everything under them (the containers). */
function killShims(socket: string): void {
  const procs = procEntries();
  const shims = procs.filter((p) => p.cmdline.includes('containerd-shim') && p.cmdline.includes(socket)).map((p) => p.pid);
  const doomed = new Set(shims);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!doomed.has(p.pid) && doomed.has(p.ppid)) (doomed.add(p.pid), (grew = true));
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + 5000;
  while ([...doomed].some(isAlivePid) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
}

/** Mount points at or under any of `prefixes`, deepest first. */
function mountsUnder(prefixes: string[]): string[] {
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points = text.split('\n').filter(Boolean).map((l) => l.split(' ')[4]!.replace(/\\040/g, ' '));
  return points.filter((m) => prefixes.some((p) => m === p || m.startsWith(p + '/'))).sort((a, b) => b.length - a.length);
}

function rmdirTree(dir: string): void {
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) rmdirTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    /* busy or gone */
  }
}

/** Imports an image archive (OCI layout tar, see images.ts) into the real node of the cluster in `dir`. */
export function importImage(dir: string, archive: string): void {
  const record = readRealNodeRecord(dir);
  if (!record) throw new Error(`the test cluster in ${dir} has no real node`);
  const r = spawnSync(nodeBinaryPaths().ctr, ['--address', record.socket, '--namespace', 'k8s.io', 'images', 'import', archive], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ctr images import ${archive} failed: ${r.error?.message ?? r.stderr}`);
}

/** Reads the record a node left in its run directory, if any. */
export function readRealNodeRecord(dir: string): RealNodeRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node', 'record.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Undoes what the node did outside its processes (call after the kubelet and containerd
 * are stopped): containers, mounts, the bridge, cgroups, host paths it created, sysctls,
 * the lock. Safe to repeat; a second call after a killed run finishes the job.
 */
export function cleanupRealNode(record: RealNodeRecord): void {
  killShims(record.socket);
  const root = path.join(record.dir, 'node');
  for (const m of mountsUnder([root, ...record.createdPaths])) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', record.bridge], { stdio: 'ignore' });
  for (const cg of record.cgroups) rmdirTree(cg);
  for (const p of record.createdPaths) fs.rmSync(p, { recursive: true, force: true });
  for (const [name, value] of Object.entries(record.sysctls)) {
    try {
      fs.writeFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, value);
    } catch {
      /* read-only here */
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
  if (readLock()?.dir === record.dir) fs.rmSync(LOCK, { force: true });
}
