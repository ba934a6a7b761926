// Syncthing device IDs: SHA-256 of the certificate's DER bytes, base32 (RFC 4648,
// no padding), a Luhn mod 32 check character after each 13-character block, and
// groups of 7 joined by dashes. Same algorithm as syncthing's lib/protocol
// (deviceid.go, luhn.go), including its quirk of starting the factor at 1 on the
// left (so the check character is not the textbook Luhn).

import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, upper case, without `=` padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The Luhn mod 32 check character syncthing appends to each 13-character block. */
export function luhn32(block: string): string {
  let factor = 1;
  let sum = 0;
  for (const ch of block) {
    const codepoint = BASE32.indexOf(ch);
    if (codepoint < 0) throw new Error(`invalid base32 character ${JSON.stringify(ch)} in ${block}`);
    let addend = factor * codepoint;
    factor = factor === 2 ? 1 : 2;
    addend = Math.floor(addend / 32) + (addend % 32);
    sum += addend;
  }
  return BASE32[(32 - (sum % 32)) % 32] as string;
}

/** The device ID of a certificate given as DER bytes. */
export function deviceIdFromDer(der: Uint8Array): string {
  return formatDeviceId(createHash('sha256').update(der).digest());
}

/** Formats a 32-byte certificate hash as a device ID. */
export function formatDeviceId(hash: Uint8Array): string {
  if (hash.length !== 32) throw new Error(`a device ID is 32 bytes, not ${hash.length}`);
  const id = base32(hash); // 52 characters
  let checked = '';
  for (let i = 0; i < 4; i++) {
    const block = id.slice(i * 13, i * 13 + 13);
    checked += block + luhn32(block);
  }
  return checked.match(/.{7}/g)!.join('-');
}

/** The device ID of a PEM certificate (the first CERTIFICATE block). */
export function deviceIdFromPem(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error('no PEM CERTIFICATE block found');
  return deviceIdFromDer(Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64'));
}

/** True for a well-formed device ID whose four check characters are right. */
export function isValidDeviceId(id: string): boolean {
  const plain = id.replace(/-/g, '');
  if (!/^[A-Z2-7]{56}$/.test(plain)) return false;
  for (let i = 0; i < 4; i++) {
    const chunk = plain.slice(i * 14, i * 14 + 14);
    if (luhn32(chunk.slice(0, 13)) !== chunk[13]) return false;
  }
  return true;
}
