// npm run cluster:up [-- --dir=DIR --nodes=N]: build if needed, start the test
// control plane in the background, wait until it is ready and print the
// kubeconfig path (last line of stdout). Stop it with `npm run cluster:down`.
import { BuildError } from './build.lib.ts';
import { ClusterStartError, defaultRunDir, startCluster } from './cluster.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const dir = arg('dir') ?? defaultRunDir();
const nodes = arg('nodes') ? Number(arg('nodes')) : undefined;
if (nodes !== undefined && !(Number.isInteger(nodes) && nodes >= 1)) {
  console.error(`cluster:up: --nodes must be a whole number >= 1, got ${arg('nodes')}`);
  process.exit(2);
}
try {
  const c = await startCluster({
    dir,
    nodes,
    owned: false,
    log: (l) => process.stderr.write(l + '\n'),
  });
  process.stderr.write(`test cluster ready in ${(c.startupMs / 1000).toFixed(1)} s (${c.server}); stop it with npm run cluster:down\n`);
  process.stderr.write(`export KUBECONFIG_TEST=${c.kubeconfigPath}\n`);
  console.log(c.kubeconfigPath);
} catch (e) {
  if (e instanceof ClusterStartError || e instanceof BuildError) console.error(`cluster:up failed: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
}
