// `kubectl-dev render` on bytes, through the built CLI: documents that pass through
// come out as the very input bytes (UTF-8 with a BOM, CRLF, no final newline,
// non-ASCII text, documents kubectl would refuse), whether or not a workload
// changes; invalid UTF-8 is refused with its line, as kubectl and Helm refuse it.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from './run-cli.ts';

function render(input: Buffer, args: string[]): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'render', ...args], { input, env: { ...process.env, NO_COLOR: '1' }, timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

const DEPLOYMENT = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n';
const CONFIGMAP = 'apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: ü-config}\r\ndata:\r\n  greeting: "grüße, 世界 🚀"\r\n  mode: 0644\r\n  dup: a\r\n  dup: b\r\n';

describe('kubectl-dev render: bytes in, bytes out', () => {
  it('copies untouched documents byte for byte around a changed workload', () => {
    const before = Buffer.from(`\uFEFF${CONFIGMAP}---\n# Source: x\n`, 'utf8');
    const after = Buffer.from(`---\n- not: [an object]\n---\n${CONFIGMAP.trimEnd()}`, 'utf8');
    const input = Buffer.concat([before, Buffer.from(DEPLOYMENT), after]);
    const r = render(input, ['--select', 'deploy/web']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.subarray(0, before.length).equals(before)).toBe(true);
    expect(r.stdout.subarray(r.stdout.length - after.length).equals(after)).toBe(true);
    expect(r.stdout.toString('utf8')).toContain('dev.kubectl-dev.io/dev-mode: "true"');
  });

  it('passes a stream with nothing selected through as the same bytes', () => {
    const input = Buffer.from(`\uFEFF${CONFIGMAP}---\n${DEPLOYMENT}`, 'utf8');
    const r = render(input, []);
    expect(r.code).toBe(0);
    expect(r.stdout.equals(input)).toBe(true);
  });

  it('refuses invalid UTF-8 with its line and column, exit 3, nothing on stdout', () => {
    const input = Buffer.concat([Buffer.from(`${DEPLOYMENT}---\napiVersion: v1\nkind: ConfigMap\ndata:\n  a: "x`), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]);
    const r = render(input, ['--select', 'deploy/web']);
    expect(r.stdout.length).toBe(0);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: the input is not valid UTF-8: byte 0xC3 at line 15, column 8');
    expect(r.stderr).toContain('where: stdin, line 15');
  });
});
