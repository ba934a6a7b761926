#!/usr/bin/env node
'use strict';
// The published entry: the bundled program in dist/ (built by `npm run build`). Its compiled
// code is cached by Node in a directory only this user can write (compiling the 9 MB bundle is
// most of a cold start; docs/decisions.md), or not at all.
const { enableCompileCache } = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** $XDG_CACHE_HOME/kubectl-dev/compile-cache (~/.cache/…): created 0700, used only if it is a directory of this user that nobody else may write. */
function privateCacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  if (!path.isAbsolute(base) || typeof process.getuid !== 'function') return undefined;
  const dir = path.join(base, 'kubectl-dev', 'compile-cache');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid() && (stat.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

// NODE_COMPILE_CACHE (the user's own choice) and NODE_DISABLE_COMPILE_CACHE are Node's and win.
if (typeof enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  const dir = privateCacheDir();
  if (dir) enableCompileCache(dir);
}
require('../dist/kubectl-dev.cjs');
