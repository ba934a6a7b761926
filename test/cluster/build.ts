// npm run cluster:build [-- --force]: build the control-plane binaries into the cache (no-op when up to date),
// and, where the machine can run a real node, the kubelet, containerd and the node's images.
import { BuildError, binaryPaths, ensureBuilt, isBuilt } from './build.lib.ts';
import { buildImages } from './images.ts';
import { ensureNodeBuilt, realNodeProblems } from './node.ts';

const force = process.argv.includes('--force');
const t0 = Date.now();
try {
  const upToDate = !force && isBuilt();
  const bins = await ensureBuilt({ force });
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`${upToDate ? 'up to date' : 'built'} (${s} s): ${bins.testcluster}, ${bins.kwok}`);
  const problems = realNodeProblems().filter((p) => !p.startsWith('another test cluster'));
  if (problems.length > 0) {
    console.log(`no real node on this machine (${problems.join('; ')}): KWOK nodes only`);
  } else {
    const node = ensureNodeBuilt();
    const images = buildImages((l) => console.error(l));
    console.log(`real node (${((Date.now() - t0) / 1000).toFixed(1)} s): ${node.kubelet}, ${node.containerd}, ${images.length} images`);
  }
} catch (e) {
  console.error(e instanceof BuildError ? `cluster:build: ${e.message}` : e);
  console.error(`(binaries go to ${binaryPaths().testcluster.replace(/\/bin\/testcluster$/, '')})`);
  process.exitCode = 1;
}
