// npm run cluster:up [-- --dir=DIR --nodes=N --real-node|--no-real-node]: build if needed,
// start the test control plane in the background (with a real node where the machine
// allows it, or as the flag says), wait until it is ready and print the kubeconfig path
// (last line of stdout). Stop it with `npm run cluster:down`.
import { BuildError } from './build.lib.ts';
import { ClusterStartError, defaultRunDir, startCluster } from './cluster.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const dir = arg('dir') ?? defaultRunDir();
const nodes = arg('nodes') ? Number(arg('nodes')) : undefined;
if (nodes !== undefined && !(Number.isInteger(nodes) && nodes >= 1)) {
  console.error(`cluster:up: --nodes must be a whole number >= 1, got ${arg('nodes')}`);
  process.exit(2);
}
const flag = (name: string) => process.argv.includes(`--${name}`);
if (flag('real-node') && flag('no-real-node')) {
  console.error('cluster:up: --real-node and --no-real-node exclude each other');
  process.exit(2);
}
const realNode = flag('real-node') ? true : flag('no-real-node') ? false : 'auto';
// Ctrl-C (or a kill) while it starts: startCluster stops what has started, node included.
const abort = new AbortController();
const interrupted = (sig: NodeJS.Signals) => {
  process.stderr.write(`cluster:up: ${sig} while starting; stopping what has started\n`);
  abort.abort();
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, interrupted);
try {
  const c = await startCluster({
    dir,
    nodes,
    realNode,
    owned: false,
    signal: abort.signal,
    log: (l) => process.stderr.write(l + '\n'),
  });
  const node = c.realNode ? `real node ${c.realNode} and ` : 'no real node, ';
  process.stderr.write(`test cluster ready in ${(c.startupMs / 1000).toFixed(1)} s (${c.server}; ${node}${c.nodes.length - (c.realNode ? 1 : 0)} KWOK nodes); stop it with npm run cluster:down\n`);
  process.stderr.write(`export KUBECONFIG_TEST=${c.kubeconfigPath}\n`);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, interrupted);
  console.log(c.kubeconfigPath);
} catch (e) {
  if (e instanceof ClusterStartError || e instanceof BuildError) console.error(`cluster:up failed: ${e.message}`);
  else console.error(e);
  process.exitCode = abort.signal.aborted ? 130 : 1;
}
