// Input bytes → text, refusing invalid UTF-8 with its line and column, as go-yaml
// refuses it (kubectl and Helm read nothing from such a stream). Replacing bad bytes
// with U+FFFD, as a lax decoder does, would change values silently. Pure.

import { DevError } from '../errors.ts';

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** The located error for invalid UTF-8 at byte `at`. */
export function utf8Error(bytes: Uint8Array, at: number, source: string): DevError {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (bytes[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = new TextDecoder().decode(bytes.subarray(lineStart, at)).length + 1;
  const byte = (bytes[at] as number).toString(16).toUpperCase().padStart(2, '0');
  return new DevError('INVALID_INPUT', `the input is not valid UTF-8: byte 0x${byte} at line ${line}, column ${column}`,
    'Kubernetes manifests are UTF-8 text, and kubectl and Helm refuse this input too; re-encode the file as UTF-8 (iconv -t UTF-8), or remove the binary data (put it in a Secret\'s data as base64).',
    { source, line });
}

/** Bytes → text (a BOM kept, so offsets match the input); a located DevError when not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw utf8Error(bytes, Math.max(0, firstInvalidUtf8(bytes)), source);
  }
}
