// The krew manifest: the committed krew-manifest.yaml is a valid krew Plugin, and
// `npm run package:krew`'s code makes an archive whose sha256 is the one it writes.
// (Packaging is checked on a stand-in binary; test/cli/binary.test.ts checks the real one.)

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ARCHIVE_NAME, packageKrew } from '../../scripts/package-krew.ts';
import { ROOT } from './run-cli.ts';

interface Platform {
  selector: { matchLabels: Record<string, string> };
  uri: string;
  sha256: string;
  bin: string;
}

function checkPlugin(manifest: any, version: string): Platform {
  expect(manifest.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
  expect(manifest.kind).toBe('Plugin');
  expect(manifest.metadata).toEqual({ name: 'dev' });
  expect(manifest.spec.version).toBe(`v${version}`);
  expect(manifest.spec.version).toMatch(/^v\d+\.\d+\.\d+(-[\w.]+)?$/);
  expect(manifest.spec.homepage).toMatch(/^https:\/\//);
  expect(manifest.spec.shortDescription.length).toBeGreaterThan(10);
  expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(80);
  expect(manifest.spec.description).toContain('kubectl dev end');
  for (const need of ['RBAC', 'patch', 'pods/portforward', 'secrets', 'syncthing', 'kubectl dev doctor']) expect(manifest.spec.caveats).toContain(need);
  expect(manifest.spec.platforms).toHaveLength(1);
  const platform = manifest.spec.platforms[0] as Platform;
  expect(platform.selector).toEqual({ matchLabels: { os: 'linux', arch: 'amd64' } });
  expect(platform.uri).toMatch(new RegExp(`^https://.*/${ARCHIVE_NAME.replace(/\./g, '\\.')}$`));
  expect(platform.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(platform.bin).toBe('kubectl-dev');
  return platform;
}

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('krew', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-krew-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed manifest is a krew Plugin for this version', () => {
    checkPlugin(parse(readFileSync(join(ROOT, 'krew-manifest.yaml'), 'utf8')), version);
  });

  it('package:krew writes the archive\'s real sha256 into the manifest', async () => {
    writeFileSync(join(dir, 'kubectl-dev'), '#!/bin/sh\necho stand-in\n', { mode: 0o755 });
    writeFileSync(join(dir, 'kubectl_complete-dev'), '#!/bin/sh\nexec kubectl-dev __complete -- "$@"\n', { mode: 0o755 });
    const manifestPath = join(dir, 'krew-manifest.yaml');
    const { archive, sha256 } = await packageKrew({ distDir: dir, manifestPath });
    expect(archive).toBe(join(dir, ARCHIVE_NAME));
    const platform = checkPlugin(parse(readFileSync(manifestPath, 'utf8')), version);
    expect(platform.sha256).toBe(createHash('sha256').update(readFileSync(archive)).digest('hex'));
    expect(platform.sha256).toBe(sha256);

    // A tar.gz that tar reads, with the binary at the path `bin` names, executable.
    const list = spawnSync('tar', ['tzvf', archive], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    const entries = list.stdout.trim().split('\n').map((line) => ({ mode: line.split(/\s+/)[0], name: line.split(/\s+/).pop() }));
    expect(entries.map((e) => e.name)).toEqual(['kubectl-dev', 'kubectl_complete-dev', 'LICENSE', 'README.md']);
    expect(entries[0]?.mode).toBe('-rwxr-xr-x');
    const out = join(dir, 'unpacked');
    spawnSync('mkdir', ['-p', out]);
    expect(spawnSync('tar', ['xzf', archive, '-C', out]).status).toBe(0);
    expect(spawnSync(join(out, platform.bin), [], { encoding: 'utf8' }).stdout).toBe('stand-in\n');
    expect(readFileSync(join(out, 'LICENSE'), 'utf8')).toContain('Apache License');

    // Reproducible: the same inputs give the same sha256.
    expect((await packageKrew({ distDir: dir, manifestPath })).sha256).toBe(sha256);
  });
});
