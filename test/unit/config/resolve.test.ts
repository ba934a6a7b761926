// The one merge of the dev config and the flags: each field by its rule, the entry found one way.

import { describe, expect, it } from 'vitest';
import { parseDevConfig } from '../../../src/config/devconfig.ts';
import { entryFor, FIELDS, resolve } from '../../../src/config/resolve.ts';

const config = parseDevConfig([
  'defaults:',
  '  image: node:24',
  '  env: { TZ: UTC, MODE: a }',
  '  sync: { ignore: [node_modules], mode: send-only }',
  '  forward: ["9229"]',
  '  run: npm start',
  'workloads:',
  '  deployment/web:',
  '    namespace: shop',
  '    image: web:shop',
  '    env: { MODE: shop }',
  "    sync: { localDir: ./shop, ignore: ['*.log'] }",
  '    forward: ["8080:80"]',
  '    run: npm run shop',
  '  deploy/web:',
  '    namespace: blog',
  '    image: web:blog',
  '    sync: { localDir: ./blog, mode: two-way }',
  '    run: npm run blog',
  '  statefulset/db:',
  '    workdir: /data',
].join('\n'), '.kubectl-dev.yaml');

const web = { kind: 'Deployment', name: 'web' };

describe('resolve', () => {
  it('has one rule for every field', () => {
    expect(Object.entries(FIELDS).filter(([, f]) => f.rule !== 'replace').map(([name, f]) => `${name}:${f.rule}`)).toEqual(['env:byName', 'persist:append', 'ignore:append']);
  });

  it('two workloads of one name in two namespaces: every part comes from that namespace\'s entry', () => {
    const shop = resolve(config, web, 'shop');
    expect(shop.settings.image).toBe('web:shop');
    expect(shop.sync).toEqual({ localDir: { value: './shop', from: 'config' }, ignore: ['node_modules', '*.log'], mode: { value: 'send-only', from: 'config' } });
    expect(shop.forward).toEqual({ specs: ['8080:80'], from: 'config' });
    expect(shop.run).toBe('npm run shop');
    const blog = resolve(config, web, 'blog');
    expect(blog.settings.image).toBe('web:blog');
    expect(blog.sync).toEqual({ localDir: { value: './blog', from: 'config' }, ignore: ['node_modules'], mode: { value: 'two-way', from: 'config' } });
    expect(blog.forward).toEqual({ specs: ['9229'], from: 'config' });
    expect(blog.run).toBe('npm run blog');
  });

  it('a namespace no entry names gets the defaults', () => {
    const other = resolve(config, web, 'other');
    expect(other.settings.image).toBe('node:24');
    expect(other.run).toBe('npm start');
    expect(other.sync.localDir).toBeUndefined();
  });

  it('flags over the entry over the defaults; env by name; ignore appended', () => {
    const r = resolve(config, web, 'shop', { image: 'flag:1', env: [{ name: 'NEW', value: 'x' }, { name: 'TZ', value: 'CET' }], ignore: ['tmp'], localDir: 'here', mode: 'two-way', forward: ['3000'], run: 'make' });
    expect(r.settings.image).toBe('flag:1');
    expect(r.settings.env).toEqual([{ name: 'TZ', value: 'CET' }, { name: 'MODE', value: 'shop' }, { name: 'NEW', value: 'x' }]);
    expect(r.sync).toEqual({ localDir: { value: 'here', from: 'flag' }, ignore: ['node_modules', '*.log', 'tmp'], mode: { value: 'two-way', from: 'flag' } });
    expect(r.forward).toEqual({ specs: ['3000'], from: 'flag' });
    expect(r.run).toBe('make');
  });

  it('gitops: the entry over the defaults, the flag over both', () => {
    const c = parseDevConfig('defaults: {gitops: ignore}\nworkloads:\n  deploy/web: {gitops: pause}\n  deploy/api: {}\n', 'c.yaml');
    expect(resolve(c, web, undefined).gitops).toBe('pause');
    expect(resolve(c, { kind: 'Deployment', name: 'api' }, undefined).gitops).toBe('ignore');
    expect(resolve(c, web, undefined, { gitops: 'ignore' }).gitops).toBe('ignore');
  });

  it('without a config: the flags alone', () => {
    expect(resolve(undefined, web, 'x', { image: 'i', ignore: ['a'] })).toEqual({ settings: { image: 'i' }, volume: {}, sync: { ignore: ['a'] } });
    expect(resolve(undefined, web, undefined)).toEqual({ settings: {}, volume: {}, sync: { ignore: [] } });
  });

  it('finds the entry naming the namespace before one naming none; any entry without a namespace', () => {
    const c = parseDevConfig('workloads:\n  deploy/api: {image: any}\n  deployment/api: {namespace: a, image: in-a}\n', 'c.yaml');
    expect(entryFor(c, 'Deployment', 'api', 'a')?.image).toBe('in-a');
    expect(entryFor(c, 'Deployment', 'api', 'b')?.image).toBe('any');
    expect(entryFor(c, 'Deployment', 'api', undefined)?.image).toBe('any');
    expect(entryFor(c, 'StatefulSet', 'api', 'a')).toBeUndefined();
    expect(entryFor(config, 'StatefulSet', 'db', 'anywhere')?.workdir).toBe('/data');
  });
});
