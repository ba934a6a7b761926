// Packs dist/kubectl-dev for krew: dist/kubectl-dev-linux-amd64.tar.gz (the binary, the
// completion script, LICENSE, README.md) and writes its real sha256 and the version of
// package.json into krew-manifest.yaml.
//
//   npm run package:krew      (builds the binary first when dist/kubectl-dev is missing)
//
// The archive is reproducible: fixed order, owner 0:0, mtime 0, gzip without a name or time.
// The download address is $KUBECTL_DEV_RELEASE_URL (a directory URL) or a placeholder; a
// local install does not use it: kubectl krew install --manifest=krew-manifest.yaml --archive=…

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');
export const ARCHIVE_NAME = 'kubectl-dev-linux-amd64.tar.gz';
const DEFAULT_RELEASE_URL = 'https://example.invalid/kubectl-dev/releases/download';

interface Entry {
  name: string;
  data: Buffer;
  mode: number;
}

/** One ustar header block plus the data padded to 512 bytes. */
function tarEntry(entry: Entry): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name too long: ${entry.name}`);
  field(0, 100, entry.name);
  octal(100, 8, entry.mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, entry.data.length);
  octal(136, 12, 0); // mtime
  field(148, 8, '        '); // checksum placeholder: spaces
  field(156, 1, '0'); // regular file
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(265, 32, 'root');
  field(297, 32, 'root');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (entry.data.length % 512)) % 512);
  return Buffer.concat([header, entry.data, padding]);
}

export function tarGz(entries: readonly Entry[]): Buffer {
  return gzipSync(Buffer.concat([...entries.map(tarEntry), Buffer.alloc(1024)]), { level: 9 });
}

export interface KrewManifestInput {
  version: string;
  sha256: string;
  uri: string;
}

export function krewManifest(input: KrewManifestInput): string {
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'dev' },
    spec: {
      version: `v${input.version}`,
      homepage: 'https://example.invalid/kubectl-dev',
      shortDescription: 'Run your code in a live workload, synced from your machine',
      description: [
        'kubectl dev puts a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod into dev mode:',
        'the chosen container keeps its pod but runs a dev image, and a syncthing sidecar receives',
        'your local source tree over a port-forward. `kubectl dev end` restores the workload exactly,',
        'from any machine, also after a crash. It also works as a Helm post-renderer and a kustomize',
        'KRM function (kubectl-dev render).',
        '',
      ].join('\n'),
      caveats: [
        'kubectl dev needs, on the cluster:',
        '  * RBAC in the namespace of the workload: get, list, patch on deployments, statefulsets,',
        '    daemonsets and cronjobs; create, delete on jobs, pods, secrets and configmaps;',
        '    create on pods/exec and pods/portforward; get, list, patch on horizontalpodautoscalers.',
        '  * Nodes that can pull the dev image and the syncthing sidecar image (Pod Security',
        '    "baseline" or looser in the namespace).',
        'And on this machine: syncthing 1.19 or newer on PATH (apt-get install syncthing; brew install',
        'syncthing), only for syncing code.',
        '',
        'Check all of it with:  kubectl dev doctor',
        'Shell completion for `kubectl dev <TAB>`: put kubectl_complete-dev from the archive on PATH',
        '(e.g. ln -s ~/.krew/store/dev/v' + input.version + '/kubectl_complete-dev ~/.krew/bin/).',
        '',
      ].join('\n'),
      platforms: [
        {
          selector: { matchLabels: { os: 'linux', arch: 'amd64' } },
          uri: input.uri,
          sha256: input.sha256,
          bin: 'kubectl-dev',
        },
      ],
    },
  };
  const header = [
    '# Written by `npm run package:krew` (scripts/package-krew.ts): the sha256 is that of',
    `# dist/${ARCHIVE_NAME} built from this version. Install from a local archive with`,
    `#   kubectl krew install --manifest=krew-manifest.yaml --archive=dist/${ARCHIVE_NAME}`,
  ].join('\n');
  return `${header}\n${stringify(manifest, { lineWidth: 0 })}`;
}

export interface PackageOptions {
  /** Where dist/kubectl-dev and dist/kubectl_complete-dev are, and the archive goes (default dist/). */
  distDir?: string;
  /** The manifest to write (default krew-manifest.yaml at the top of the repository). */
  manifestPath?: string;
}

export async function packageKrew(options: PackageOptions = {}): Promise<{ archive: string; sha256: string; manifest: string }> {
  const dist = options.distDir ?? join(ROOT, 'dist');
  const binary = join(dist, 'kubectl-dev');
  if (!existsSync(binary)) {
    const { buildBinary } = await import('./build-binary.ts');
    await buildBinary(dist);
  }
  const complete = join(dist, 'kubectl_complete-dev');
  const license = join(ROOT, 'LICENSE');
  if (!existsSync(license)) throw new Error('LICENSE is missing at the top of the repository; krew archives carry the license');
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const entries: Entry[] = [
    { name: 'kubectl-dev', data: readFileSync(binary), mode: 0o755 },
    { name: 'kubectl_complete-dev', data: readFileSync(complete), mode: 0o755 },
    { name: 'LICENSE', data: readFileSync(license), mode: 0o644 },
    { name: 'README.md', data: readFileSync(join(ROOT, 'README.md')), mode: 0o644 },
  ];
  const archive = join(dist, ARCHIVE_NAME);
  const data = tarGz(entries);
  writeFileSync(archive, data);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const base = (process.env.KUBECTL_DEV_RELEASE_URL ?? `${DEFAULT_RELEASE_URL}/v${version}`).replace(/\/+$/, '');
  const manifest = options.manifestPath ?? join(ROOT, 'krew-manifest.yaml');
  writeFileSync(manifest, krewManifest({ version, sha256, uri: `${base}/${ARCHIVE_NAME}` }));
  process.stderr.write(`package:krew: ${archive} (${(statSync(archive).size / 1e6).toFixed(1)} MB), sha256 ${sha256}; ${manifest} updated\n`);
  return { archive, sha256, manifest };
}

if (import.meta.main) await packageKrew();
