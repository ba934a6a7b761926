// .gitignore → .stignore: the files real syncthing indexes under the translated patterns are
// the files real git does not ignore (`git ls-files --others --exclude-standard`), for trees and
// .gitignore files built from the patterns developers write.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configXml, localConfig, FOLDER_ID } from '../../../src/sync/config.ts';
import { gitignoreToStignore, type GitignoreFile } from '../../../src/sync/gitignore.ts';
import { gitignorePatterns } from '../../../src/sync/ignores.ts';
import { generateIdentity, randomApiKey, randomGuiCredentials } from '../../../src/sync/identity.ts';
import { freePort, startSyncthing, tempDir, until, type RunningSyncthing } from './support.ts';

describe('translating patterns', () => {
  it('reverses the order (git: last match wins; syncthing: first), anchors patterns with a slash, scopes a subdirectory\'s file', () => {
    const out = gitignoreToStignore([
      { dir: 'web', text: 'dist\n/local.env\n' },
      { dir: '', text: '# build output\n*.log\n!keep.log\nbuild/\ndocs/*.html\n\n' },
    ]);
    expect(out.lines).toEqual(['/web/local.env', '/web/dist', '/web/**/dist', '/docs/*.html', 'build', '!keep.log', '*.log']);
    expect(out.warnings).toEqual([
      '.gitignore:3: "!keep.log" re-includes a path; git does not when a directory above it is ignored, syncthing does',
    ]);
    // A directory-only pattern: its lines, for the tree reader to tell whether a file matches it.
    expect(out.directoryOnly).toEqual([{ where: '.gitignore:4', pattern: 'build/', lines: ['build'] }]);
  });

  it('git\'s escapes and trailing spaces; what syncthing would read differently is left out with a warning', () => {
    const out = gitignoreToStignore([{ dir: '', text: '\\#notes\n\\!bang\ntrailing   \nspace\\ \n{a,b}\n(?i)x\n' }]);
    expect(out.lines).toEqual(['space[ ]', 'trailing', '/!bang', '/**/!bang', '/#notes', '/**/#notes']);
    expect(out.warnings.map((w) => w.split(':')[1])).toEqual(['5', '6']);
  });
});

describe('reading a tree\'s .gitignore files', () => {
  it('finds them at every depth, outermost first, but not inside directories already ignored nor in .git', () => {
    const root = tempDir('gitignores');
    try {
      const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
      };
      write('.gitignore', 'node_modules/\n');
      write('web/.gitignore', 'dist\n');
      write('web/src/.gitignore', '*.gen.ts\n');
      write('node_modules/pkg/.gitignore', 'never-read\n');
      write('.git/info/.gitignore', 'never-read\n');
      const out = gitignorePatterns(root);
      expect(out.lines).toEqual(['/web/src/*.gen.ts', '/web/src/**/*.gen.ts', '/web/dist', '/web/**/dist', 'node_modules']);
      expect(out.lines.join('\n')).not.toContain('never-read');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Trees and .gitignore files of the kinds seen in real projects (node, python, go, monorepos). */
const CASES: { name: string; files: string[]; gitignores: GitignoreFile[] }[] = [
  {
    name: 'a node project',
    files: ['package.json', 'src/index.ts', 'src/app.log', 'node_modules/a/index.js', 'dist/app.js', 'coverage/lcov.info', '.env', '.env.example', 'logs/keep.log', 'logs/x.log', 'debug.log'],
    gitignores: [{ dir: '', text: 'node_modules/\ndist\n/coverage\n.env\n*.log\n!keep.log\n' }],
  },
  {
    name: 'anchored, nested and double-star patterns',
    files: ['docs/a.html', 'docs/sub/b.html', 'docs/c.md', 'a/b/c/x.tmp', 'a/x.tmp', 'x.tmp', 'build/out.o', 'src/build/keep.c', 'src/gen/file.pb.go', 'src/file.go', 'lib/cache/z', 'cache'],
    gitignores: [{ dir: '', text: 'docs/*.html\n/build/\n**/gen/\n*.tmp\ncache\n' }],
  },
  {
    name: 'a monorepo with a .gitignore per package',
    files: ['web/dist/a.js', 'web/src/dist/b.js', 'web/local.env', 'web/sub/local.env', 'api/__pycache__/m.pyc', 'api/app.py', 'api/venv/bin/python', 'dist/top.js', 'README.md'],
    gitignores: [
      { dir: '', text: '__pycache__/\n*.pyc\n' },
      { dir: 'web', text: 'dist\n/local.env\n' },
      { dir: 'api', text: 'venv/\n' },
    ],
  },
  {
    name: 'negation inside an ignored directory stays ignored in git',
    files: ['tmp/a', 'tmp/b', 'out/x.txt', 'out/y.bin', 'z.bin'],
    gitignores: [{ dir: '', text: 'tmp/*\n!tmp/a\n*.bin\n' }],
  },
  {
    name: 'escaped names and significant spaces',
    files: ['#notes', 'sub/#notes', '!bang', 'a/!bang', 'space ', 'space', 'trailing', 'keep'],
    gitignores: [{ dir: '', text: '\\#notes\n\\!bang\nspace\\ \ntrailing   \n' }],
  },
  {
    name: 'double stars that match no directory',
    files: ['gen/a', 'x/gen/b', 'a/b/c.txt', 'a/c.txt', 'a/x/y/c.txt', 'c.txt'],
    gitignores: [{ dir: '', text: '**/gen\na/**/c.txt\n' }],
  },
];

describe('the same files as git, through real syncthing', () => {
  const roots: string[] = [];
  const running: RunningSyncthing[] = [];
  let hasGit = true;
  beforeAll(() => {
    try {
      execFileSync('git', ['--version']);
    } catch {
      hasGit = false;
    }
  });
  afterAll(async () => {
    for (const s of running) await s.stop();
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  it.each(CASES)('$name', async ({ files, gitignores }) => {
    expect(hasGit, 'git is needed for this test (apt-get install git)').toBe(true);
    const root = tempDir('gitignore');
    roots.push(root);
    const tree = path.join(root, 'tree');
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(tree, f)), { recursive: true });
      fs.writeFileSync(path.join(tree, f), f);
    }
    for (const g of gitignores) fs.writeFileSync(path.join(tree, g.dir, '.gitignore'), g.text);
    execFileSync('git', ['init', '-q'], { cwd: tree });
    const byGit = execFileSync('git', ['ls-files', '--others', '--exclude-standard'], { cwd: tree, encoding: 'utf8' }).split('\n').filter((l) => l !== '' && !l.endsWith('.gitignore')).sort();

    const { lines } = gitignoreToStignore(gitignores);
    fs.writeFileSync(path.join(tree, '.stignore'), `${['.git', '.gitignore', '**/.gitignore', '.stignore', ...lines].join('\n')}\n`);
    const home = path.join(root, 'home');
    fs.mkdirSync(home);
    const me = generateIdentity();
    const peer = generateIdentity();
    fs.writeFileSync(path.join(home, 'cert.pem'), me.certPem);
    fs.writeFileSync(path.join(home, 'key.pem'), me.keyPem);
    fs.writeFileSync(path.join(home, 'config.xml'), configXml(localConfig({
      localDeviceId: me.deviceId, sidecarDeviceId: peer.deviceId, apiKey: randomApiKey(), gui: randomGuiCredentials(), localDir: tree,
      guiAddress: `127.0.0.1:${await freePort()}`, sidecarAddress: 'tcp://127.0.0.1:9', sidecarPaused: true, type: 'sendonly', fsWatcherEnabled: false,
    })));
    const s = await startSyncthing(home);
    running.push(s);
    await s.rest.scan(FOLDER_ID);
    await until('the scan is done', async () => (await s.rest.dbStatus(FOLDER_ID)).state === 'idle', 30_000, 100);
    const browse = await s.rest.request<Record<string, unknown>[]>('GET', `/rest/db/browse?folder=${FOLDER_ID}`);
    const bySyncthing: string[] = [];
    const walk = (entries: Record<string, unknown>[], prefix: string) => {
      for (const e of entries) {
        const rel = `${prefix}${String(e.name)}`;
        if (e.type === 'FILE_INFO_TYPE_DIRECTORY') walk((e.children as Record<string, unknown>[] | undefined) ?? [], `${rel}/`);
        else bySyncthing.push(rel);
      }
    };
    walk(browse, '');
    expect(bySyncthing.sort()).toEqual(byGit);
  });
});
