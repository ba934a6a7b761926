// PE (Windows executable) helpers for the windows-x64 binary: Node's node.exe carries the
// Node.js Foundation's Authenticode signature, which injecting the SEA blob would leave broken
// (a signature that no longer matches is worse than none: tools report the file as tampered).
// It is removed before the injection, as `signtool remove /s` does: the certificate table is
// cut off the end of the file and its data directory entry cleared; the header checksum is
// computed again.

const IMAGE_DIRECTORY_ENTRY_SECURITY = 4;

export interface PeHeaders {
  /** Offset of the "PE\0\0" signature. */
  pe: number;
  machine: number;
  /** Offset of the optional header. */
  optional: number;
  /** 0x20b: PE32+. */
  magic: number;
  /** Offset of the data directories. */
  directories: number;
  numberOfDirectories: number;
}

export function peHeaders(buf: Buffer): PeHeaders {
  if (buf.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a PE file: no MZ header');
  const pe = buf.readUInt32LE(0x3c);
  if (buf.readUInt32BE(pe) !== 0x50450000) throw new Error('not a PE file: no PE signature');
  const optional = pe + 24;
  const magic = buf.readUInt16LE(optional);
  if (magic !== 0x20b) throw new Error(`not a PE32+ file (optional header magic 0x${magic.toString(16)})`);
  return { pe, machine: buf.readUInt16LE(pe + 4), optional, magic, directories: optional + 112, numberOfDirectories: buf.readUInt32LE(optional + 108) };
}

export function dataDirectory(buf: Buffer, index: number): { offset: number; size: number } {
  const h = peHeaders(buf);
  if (index >= h.numberOfDirectories) return { offset: 0, size: 0 };
  return { offset: buf.readUInt32LE(h.directories + 8 * index), size: buf.readUInt32LE(h.directories + 8 * index + 4) };
}

/** The PE checksum (imagehlp's CheckSumMappedFile): 16-bit one's-complement sum of the file with the checksum field as 0, plus the length. */
export function peChecksum(buf: Buffer): number {
  const at = peHeaders(buf).optional + 64;
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) {
    if (i === at || i === at + 2) continue;
    sum += buf.readUInt16LE(i);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (buf.length % 2) sum += buf[buf.length - 1]!;
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + buf.length) >>> 0;
}

/** The Authenticode signature's certificate table, if any (its "offset" is a file offset). */
export function authenticode(buf: Buffer): { offset: number; size: number } | undefined {
  const dir = dataDirectory(buf, IMAGE_DIRECTORY_ENTRY_SECURITY);
  return dir.size > 0 ? dir : undefined;
}

/** The file without its Authenticode signature (unchanged when it has none). */
export function removeAuthenticode(buf: Buffer): Buffer {
  const cert = authenticode(buf);
  if (!cert) return buf;
  const end = cert.offset + cert.size;
  // The table is the last thing in a signed file (padded to 8 bytes).
  if (Math.ceil(end / 8) * 8 < buf.length) throw new Error('the certificate table is not at the end of the file');
  const out = Buffer.from(buf.subarray(0, cert.offset));
  const h = peHeaders(out);
  out.writeUInt32LE(0, h.directories + 8 * IMAGE_DIRECTORY_ENTRY_SECURITY);
  out.writeUInt32LE(0, h.directories + 8 * IMAGE_DIRECTORY_ENTRY_SECURITY + 4);
  out.writeUInt32LE(peChecksum(out), h.optional + 64);
  return out;
}

/** Writes the header checksum again (after postject changed the file). */
export function fixPeChecksum(buf: Buffer): Buffer {
  buf.writeUInt32LE(peChecksum(buf), peHeaders(buf).optional + 64);
  return buf;
}
