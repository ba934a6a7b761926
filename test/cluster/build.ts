// npm run cluster:build [-- --force]: build the control-plane binaries into the cache (no-op when up to date).
import { BuildError, binaryPaths, ensureBuilt, isBuilt } from './build.lib.ts';

const force = process.argv.includes('--force');
const t0 = Date.now();
try {
  const upToDate = !force && isBuilt();
  const bins = await ensureBuilt({ force });
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`${upToDate ? 'up to date' : 'built'} (${s} s): ${bins.testcluster}, ${bins.kwok}`);
} catch (e) {
  console.error(e instanceof BuildError ? `cluster:build: ${e.message}` : e);
  console.error(`(binaries go to ${binaryPaths().testcluster.replace(/\/bin\/testcluster$/, '')})`);
  process.exitCode = 1;
}
