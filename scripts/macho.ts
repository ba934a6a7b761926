// Mach-O (macOS executable) helpers for the darwin binaries: read the load commands, remove a
// code signature (as `codesign --remove-signature` does: Node's own binary is signed by the
// Node.js Foundation, and that signature cannot survive the SEA injection), and check an
// ad-hoc signature the way the kernel does before it runs a page: every page's hash in the
// CodeDirectory.
//
// Signing itself is rcodesign's (scripts/rcodesign.ts); the check here is independent of it.

import { createHash } from 'node:crypto';

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
export const CPU_TYPE_X86_64 = 0x01000007;
export const CPU_TYPE_ARM64 = 0x0100000c;

export interface Section {
  segment: string;
  name: string;
  offset: number;
  size: number;
}

export interface Segment {
  /** Offset of the load command. */
  at: number;
  name: string;
  fileoff: number;
  filesize: number;
  vmsize: number;
  sections: Section[];
}

export interface MachO {
  cputype: number;
  filetype: number;
  ncmds: number;
  sizeofcmds: number;
  segments: Segment[];
  /** LC_CODE_SIGNATURE: offset of its load command and its data. */
  codeSignature?: { at: number; cmdsize: number; dataoff: number; datasize: number };
}

const cstr = (buf: Buffer, at: number, length: number) => buf.toString('latin1', at, at + length).replace(/\0.*$/s, '');

export function parseMachO(buf: Buffer): MachO {
  if (buf.readUInt32LE(0) !== MH_MAGIC_64) throw new Error('not a 64-bit Mach-O file (a universal binary or another format)');
  const m: MachO = { cputype: buf.readUInt32LE(4), filetype: buf.readUInt32LE(12), ncmds: buf.readUInt32LE(16), sizeofcmds: buf.readUInt32LE(20), segments: [] };
  let at = 32;
  for (let i = 0; i < m.ncmds; i++) {
    const cmd = buf.readUInt32LE(at);
    const cmdsize = buf.readUInt32LE(at + 4);
    if (cmd === LC_SEGMENT_64) {
      const seg: Segment = { at, name: cstr(buf, at + 8, 16), vmsize: Number(buf.readBigUInt64LE(at + 32)), fileoff: Number(buf.readBigUInt64LE(at + 40)), filesize: Number(buf.readBigUInt64LE(at + 48)), sections: [] };
      const nsects = buf.readUInt32LE(at + 64);
      for (let s = 0; s < nsects; s++) {
        const sa = at + 72 + s * 80;
        seg.sections.push({ name: cstr(buf, sa, 16), segment: cstr(buf, sa + 16, 16), size: Number(buf.readBigUInt64LE(sa + 40)), offset: buf.readUInt32LE(sa + 48) });
      }
      m.segments.push(seg);
    } else if (cmd === LC_CODE_SIGNATURE) {
      m.codeSignature = { at, cmdsize, dataoff: buf.readUInt32LE(at + 8), datasize: buf.readUInt32LE(at + 12) };
    }
    at += cmdsize;
  }
  return m;
}

/** The file without its code signature (unchanged when it has none). */
export function removeCodeSignature(input: Buffer): Buffer {
  const m = parseMachO(input);
  const sig = m.codeSignature;
  if (!sig) return input;
  const linkedit = m.segments.find((s) => s.name === '__LINKEDIT');
  if (!linkedit || linkedit.fileoff + linkedit.filesize !== input.length || sig.dataoff + sig.datasize > input.length) {
    throw new Error('the code signature is not at the end of __LINKEDIT at the end of the file');
  }
  const buf = Buffer.from(input.subarray(0, sig.dataoff));
  // Drop the load command: move the ones after it up, clear the freed bytes.
  const end = 32 + m.sizeofcmds;
  input.copy(buf, sig.at, sig.at + sig.cmdsize, end);
  buf.fill(0, end - sig.cmdsize, end);
  buf.writeUInt32LE(m.ncmds - 1, 16);
  buf.writeUInt32LE(m.sizeofcmds - sig.cmdsize, 20);
  const le = linkedit.at > sig.at ? linkedit.at - sig.cmdsize : linkedit.at;
  const filesize = sig.dataoff - linkedit.fileoff;
  buf.writeBigUInt64LE(BigInt(filesize), le + 48);
  const page = m.cputype === CPU_TYPE_ARM64 ? 0x4000 : 0x1000;
  buf.writeBigUInt64LE(BigInt(Math.ceil(filesize / page) * page), le + 32);
  return buf;
}

const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_REQUIREMENTS = 2;
const CSSLOT_SIGNATURESLOT = 0x10000;
export const CS_ADHOC = 0x2;
const HASH_TYPES: Record<number, { name: string; size: number }> = { 1: { name: 'sha1', size: 20 }, 2: { name: 'sha256', size: 32 } };

export interface SignatureCheck {
  adhoc: boolean;
  /** A CMS signature blob with content (a certificate-based signature). */
  cms: boolean;
  identifier: string;
  flags: number;
  pageSize: number;
  codeSlots: number;
  hashType: string;
}

/**
 * Checks the embedded signature: a CodeDirectory whose code limit is where the signature starts,
 * every page's hash matching the file, and the requirements blob matching its special slot.
 * Throws what does not match.
 */
export function verifyCodeSignature(buf: Buffer): SignatureCheck {
  const m = parseMachO(buf);
  const sig = m.codeSignature;
  if (!sig) throw new Error('no LC_CODE_SIGNATURE: the file is not signed');
  const superBlob = buf.subarray(sig.dataoff, sig.dataoff + sig.datasize);
  if (superBlob.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) throw new Error('the signature data is not an embedded signature SuperBlob');
  const count = superBlob.readUInt32BE(8);
  const blobs = new Map<number, Buffer>();
  for (let i = 0; i < count; i++) {
    const type = superBlob.readUInt32BE(12 + i * 8);
    const offset = superBlob.readUInt32BE(16 + i * 8);
    blobs.set(type, superBlob.subarray(offset, offset + superBlob.readUInt32BE(offset + 4)));
  }
  const cd = blobs.get(CSSLOT_CODEDIRECTORY);
  if (!cd || cd.readUInt32BE(0) !== CSMAGIC_CODEDIRECTORY) throw new Error('no CodeDirectory in the signature');
  const flags = cd.readUInt32BE(12);
  const hashOffset = cd.readUInt32BE(16);
  const identOffset = cd.readUInt32BE(20);
  const nSpecialSlots = cd.readUInt32BE(24);
  const nCodeSlots = cd.readUInt32BE(28);
  const codeLimit = cd.readUInt32BE(32);
  const hashSize = cd[36]!;
  const hash = HASH_TYPES[cd[37]!];
  const pageSize = 2 ** cd[39]!;
  if (!hash || hash.size !== hashSize) throw new Error(`unknown hash type ${cd[37]} (size ${hashSize})`);
  if (codeLimit !== sig.dataoff) throw new Error(`the CodeDirectory covers ${codeLimit} bytes, the signature starts at ${sig.dataoff}`);
  if (nCodeSlots !== Math.ceil(codeLimit / pageSize)) throw new Error(`${nCodeSlots} code slots for ${codeLimit} bytes in pages of ${pageSize}`);
  for (let page = 0; page < nCodeSlots; page++) {
    const data = buf.subarray(page * pageSize, Math.min(codeLimit, (page + 1) * pageSize));
    const expected = cd.subarray(hashOffset + page * hashSize, hashOffset + (page + 1) * hashSize);
    if (!createHash(hash.name).update(data).digest().equals(expected)) throw new Error(`page ${page} (offset ${page * pageSize}) does not match its hash in the CodeDirectory`);
  }
  const requirements = blobs.get(CSSLOT_REQUIREMENTS);
  if (requirements && nSpecialSlots >= CSSLOT_REQUIREMENTS) {
    const slot = cd.subarray(hashOffset - CSSLOT_REQUIREMENTS * hashSize, hashOffset - (CSSLOT_REQUIREMENTS - 1) * hashSize);
    if (!createHash(hash.name).update(requirements).digest().equals(slot)) throw new Error('the requirements blob does not match its hash in the CodeDirectory');
  }
  const cmsBlob = blobs.get(CSSLOT_SIGNATURESLOT);
  const cms = cmsBlob !== undefined && cmsBlob.readUInt32BE(0) === CSMAGIC_BLOBWRAPPER && cmsBlob.length > 8;
  return { adhoc: (flags & CS_ADHOC) !== 0, cms, identifier: cstr(cd, identOffset, cd.length - identOffset), flags, pageSize, codeSlots: nCodeSlots, hashType: hash.name };
}
