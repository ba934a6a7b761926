// The initial copy's tar encoding: plain ustar headers, written byte by byte, and the
// archive's padding and end. Pure: no I/O.

import type { PlannedEntry } from './plan.ts';

const USTAR_NAME = 100;
const USTAR_PREFIX = 155;
/** The largest file a ustar header can carry (11 octal digits). */
export const MAX_SIZE = 8 * 1024 ** 3 - 1;
/** A record of GNU tar's default blocking factor: the archive ends on a record boundary. */
const RECORD = 10240;

/** Splits a path into ustar's prefix and name fields; undefined when it does not fit. */
export function ustarName(path: string): { name: Buffer; prefix: Buffer } | undefined {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length <= USTAR_NAME) return { name: bytes, prefix: Buffer.alloc(0) };
  // Split at a "/" so that the prefix fits 155 bytes and the rest 100.
  for (let i = Math.min(bytes.length - 1, USTAR_PREFIX); i > 0; i--) {
    if (bytes[i] === 0x2f && bytes.length - i - 1 <= USTAR_NAME && bytes.length - i - 1 > 0) {
      return { prefix: bytes.subarray(0, i), name: bytes.subarray(i + 1) };
    }
  }
  return undefined;
}

/** Modes in the headers: what syncthing creates with ignorePerms (0666, 0777), which the tar in the container keeps under umask 0. */
export const SEED_FILE_MODE = 0o666;
export const SEED_DIR_MODE = 0o777;

/** The fields every header shares: magic, version, uid, gid and the checksum placeholder. */
const HEADER_TEMPLATE = (() => {
  const h = Buffer.alloc(512);
  h.write('0000000\0', 108, 'ascii'); // uid
  h.write('0000000\0', 116, 'ascii'); // gid
  h.write('        ', 148, 'ascii'); // checksum placeholder
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  return h;
})();

/** `value` as width-1 zero-padded octal digits and a NUL, at `offset`. */
function putOctal(h: Buffer, value: number, offset: number, width: number): void {
  let rest = Math.floor(value);
  h[offset + width - 1] = 0;
  for (let i = offset + width - 2; i >= offset; i--) {
    h[i] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
}

/** One 512-byte ustar header, from a template: one is written per entry while the copy runs, so no strings. `mode`: other than the seed's. */
export function tarHeader(entry: PlannedEntry, mode?: number): Buffer {
  const split = ustarName(entry.type === 'dir' ? `${entry.rel}/` : entry.rel);
  if (!split) throw new Error(`path too long for a ustar header: ${entry.rel}`);
  const h = Buffer.allocUnsafe(512);
  HEADER_TEMPLATE.copy(h);
  split.name.copy(h, 0);
  putOctal(h, mode ?? (entry.type === 'dir' ? SEED_DIR_MODE : SEED_FILE_MODE), 100, 8);
  putOctal(h, entry.type === 'dir' ? 0 : entry.size, 124, 12);
  putOctal(h, Math.max(0, entry.mtimeMs / 1000), 136, 12);
  h[156] = entry.type === 'dir' ? 0x35 : 0x30; // '5' directory, '0' file
  split.prefix.copy(h, 345);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  putOctal(h, sum, 148, 7); // six digits and a NUL; the space after them stays
  return h;
}

/** Zeros after `size` bytes of content, up to the next 512-byte block. */
export function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** The end of the archive after `length` bytes: two zero blocks, then up to a full record (tar reads no further). */
export function endOfArchive(length: number): number {
  return 1024 + ((RECORD - ((length + 1024) % RECORD)) % RECORD);
}
