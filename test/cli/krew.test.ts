// The krew manifest: the committed krew-manifest.yaml is a valid krew Plugin for the five
// platforms, and `npm run package:krew`'s code makes archives whose sha256 are the ones it
// writes. (Packaging is checked on stand-in binaries here; test/cli/binary-platforms.test.ts
// checks the real archives of dist/ against the manifest.)

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { archiveName, KREW_PLATFORMS, packageKrew } from '../../scripts/package-krew.ts';
import { extractZipEntry } from '../support/binaries.ts';
import { ROOT } from './run-cli.ts';

interface Platform {
  selector: { matchLabels: Record<string, string> };
  uri: string;
  sha256: string;
  bin: string;
}

export function checkPlugin(manifest: any, version: string): Platform[] {
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
  const platforms = manifest.spec.platforms as Platform[];
  expect(platforms.map((p) => p.selector)).toEqual(KREW_PLATFORMS.map((t) => ({ matchLabels: { os: t.os, arch: t.arch } })));
  for (const [i, platform] of platforms.entries()) {
    const t = KREW_PLATFORMS[i]!;
    expect(platform.uri).toMatch(new RegExp(`^https://.*/${archiveName(t.os, t.arch).replace(/\./g, '\\.')}$`));
    expect(platform.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(platform.bin).toBe(t.os === 'windows' ? 'kubectl-dev.exe' : 'kubectl-dev');
  }
  return platforms;
}

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('krew', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-krew-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed manifest is a krew Plugin for this version', () => {
    checkPlugin(parse(readFileSync(join(ROOT, 'krew-manifest.yaml'), 'utf8')), version);
  });

  it('package:krew writes each archive\'s real sha256 into the manifest', async () => {
    for (const t of KREW_PLATFORMS) {
      mkdirSync(join(dir, 'bin', t.dir), { recursive: true });
      writeFileSync(join(dir, 'bin', t.dir, t.exe), `#!/bin/sh\necho stand-in ${t.platform}\n`, { mode: 0o755 });
    }
    writeFileSync(join(dir, 'kubectl_complete-dev'), '#!/bin/sh\nexec kubectl-dev __complete -- "$@"\n', { mode: 0o755 });
    const manifestPath = join(dir, 'krew-manifest.yaml');
    const { archives } = await packageKrew({ distDir: dir, manifestPath });
    const platforms = checkPlugin(parse(readFileSync(manifestPath, 'utf8')), version);
    expect(archives.map((a) => a.archive)).toEqual(KREW_PLATFORMS.map((t) => join(dir, archiveName(t.os, t.arch))));
    for (const [i, a] of archives.entries()) {
      expect(platforms[i]!.sha256).toBe(createHash('sha256').update(readFileSync(a.archive)).digest('hex'));
      expect(platforms[i]!.sha256).toBe(a.sha256);
    }

    // A tar.gz that tar reads, with the binary at the path `bin` names, executable.
    const linux = archives[0]!.archive;
    const list = spawnSync('tar', ['tzvf', linux], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    const entries = list.stdout.trim().split('\n').map((line) => ({ mode: line.split(/\s+/)[0], name: line.split(/\s+/).pop() }));
    expect(entries.map((e) => e.name)).toEqual(['kubectl-dev', 'kubectl_complete-dev', 'LICENSE', 'README.md']);
    expect(entries[0]?.mode).toBe('-rwxr-xr-x');
    const out = join(dir, 'unpacked');
    mkdirSync(out);
    expect(spawnSync('tar', ['xzf', linux, '-C', out]).status).toBe(0);
    expect(spawnSync(join(out, platforms[0]!.bin), [], { encoding: 'utf8' }).stdout).toBe('stand-in linux-x64\n');
    expect(readFileSync(join(out, 'LICENSE'), 'utf8')).toContain('Apache License');

    // The windows one is a zip with kubectl-dev.exe (no shell completion script).
    const win = archives[4]!.archive;
    expect(win.endsWith('kubectl-dev-windows-amd64.zip')).toBe(true);
    expect(extractZipEntry(win, 'kubectl-dev.exe').toString()).toBe('#!/bin/sh\necho stand-in win32-x64\n');
    expect(extractZipEntry(win, 'LICENSE').toString()).toContain('Apache License');
    expect(() => extractZipEntry(win, 'kubectl_complete-dev')).toThrow(/no entry/);
    const unzip = spawnSync('unzip', ['-l', win], { encoding: 'utf8' });
    if (unzip.status !== null && !unzip.error) expect(unzip.stdout).toMatch(/kubectl-dev\.exe[\s\S]*LICENSE[\s\S]*README\.md/);

    // Reproducible: the same inputs give the same sha256.
    expect((await packageKrew({ distDir: dir, manifestPath })).archives.map((a) => a.sha256)).toEqual(archives.map((a) => a.sha256));
  });
});
