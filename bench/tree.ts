// The benchmarks' source tree: FILES × 2 KB in DIRS directories plus BIG files of
// BIG_MB MB, random bytes (incompressible: no transport gets to shrink it).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TreeShape {
  files: number;
  dirs: number;
  big: number;
  bigMb: number;
}

export const BENCH_TREE: TreeShape = { files: 5000, dirs: 200, big: 20, bigMb: 5 };

export function makeTree(dir: string, shape: TreeShape = BENCH_TREE): { bytes: number; files: number } {
  let bytes = 0;
  for (let d = 0; d < shape.dirs; d++) fs.mkdirSync(path.join(dir, `dir${String(d).padStart(3, '0')}`), { recursive: true });
  for (let f = 0; f < shape.files; f++) {
    const data = randomBytes(2048);
    fs.writeFileSync(path.join(dir, `dir${String(f % shape.dirs).padStart(3, '0')}`, `file${f}.bin`), data);
    bytes += data.length;
  }
  fs.mkdirSync(path.join(dir, 'big'), { recursive: true });
  for (let b = 0; b < shape.big; b++) {
    const data = randomBytes(shape.bigMb * 1024 * 1024);
    fs.writeFileSync(path.join(dir, 'big', `blob${b}.bin`), data);
    bytes += data.length;
  }
  return { bytes, files: shape.files + shape.big };
}
