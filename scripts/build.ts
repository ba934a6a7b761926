// Bundles the CLI into one CommonJS file that runs on Node 24 without node_modules.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

await build({
  entryPoints: ['src/bin.ts'],
  outfile: 'dist/kubectl-dev.cjs',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  define: { KUBECTL_DEV_VERSION: JSON.stringify(version) },
});
