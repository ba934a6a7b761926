// npm run cluster:down [-- --dir=DIR]: stop every process cluster:up started (by pid) and remove its state.
import * as fs from 'node:fs';
import { defaultRunDir, stopCluster } from './cluster.ts';

const dir = process.argv.find((a) => a.startsWith('--dir='))?.slice(6) ?? defaultRunDir();
if (!fs.existsSync(dir)) {
  console.log(`no test cluster in ${dir}`);
} else {
  await stopCluster(dir);
  console.log(`stopped the test cluster in ${dir}`);
}
