import * as fs from 'node:fs';
import * as path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, describe, expect, it } from 'vitest';
import { base32, deviceIdFromPem, formatDeviceId, isValidDeviceId, luhn32 } from '../../../src/sync/deviceid.ts';
import { generateIdentity, randomApiKey } from '../../../src/sync/identity.ts';
import { syncthingDeviceId, tempDir } from './support.ts';

function base32Decode(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text) {
    buffer = (buffer << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

describe('device IDs', () => {
  it('base32 follows RFC 4648 without padding', () => {
    const enc = (s: string) => base32(Buffer.from(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('MY');
    expect(enc('fo')).toBe('MZXQ');
    expect(enc('foo')).toBe('MZXW6');
    expect(enc('foob')).toBe('MZXW6YQ');
    expect(enc('fooba')).toBe('MZXW6YTB');
    expect(enc('foobar')).toBe('MZXW6YTBOI');
  });

  it('luhn32 matches syncthing’s own test vector', () => {
    expect(luhn32('AB725E4GHIQPL3ZFGT')).toBe('G');
    expect(() => luhn32('3734EJEKMRHWPZQTWYQ1')).toThrow(/"1"/);
  });

  it('formats a hash like syncthing (lib/protocol deviceid_test.go)', () => {
    const hash = base32Decode('P56IOI7MZJNU2IQGDREYDM2MGTMGL3BXNPQ6W5BTBBZ4TJXZWICQ');
    expect(formatDeviceId(hash)).toBe('P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2');
    expect(isValidDeviceId('P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2')).toBe(true);
    expect(isValidDeviceId('P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ3')).toBe(false);
    expect(isValidDeviceId('P56IOI7')).toBe(false);
  });
});

describe('generated identities', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('are self-signed ECDSA syncthing certificates whose key matches', () => {
    const id = generateIdentity();
    const cert = new X509Certificate(id.certPem);
    expect(cert.subject).toContain('CN=syncthing');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
    expect(id.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(new Date(cert.validTo).getUTCFullYear() - new Date(cert.validFrom).getUTCFullYear()).toBe(20);
    expect(cert.keyUsage ?? []).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(isValidDeviceId(id.deviceId)).toBe(true);
    // node-forge reads the DER it assembled back.
    expect(forge.asn1.fromDer(forge.pem.decode(id.certPem)[0]!.body).value).toHaveLength(3);
  });

  it('differ every time (no shipped key)', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    expect(a.deviceId).not.toBe(b.deviceId);
    expect(a.keyPem).not.toBe(b.keyPem);
  });

  it('have the device ID the real syncthing computes from the certificate', () => {
    for (let i = 0; i < 3; i++) {
      const id = generateIdentity();
      const home = tempDir('st-id');
      dirs.push(home);
      fs.writeFileSync(path.join(home, 'cert.pem'), id.certPem);
      fs.writeFileSync(path.join(home, 'key.pem'), id.keyPem);
      expect(syncthingDeviceId(home)).toBe(id.deviceId);
      expect(deviceIdFromPem(fs.readFileSync(path.join(home, 'cert.pem'), 'utf8'))).toBe(id.deviceId);
      // syncthing loaded the pair as is: it did not replace it with one of its own.
      expect(fs.readFileSync(path.join(home, 'cert.pem'), 'utf8')).toBe(id.certPem);
    }
  });

  it('API keys are 32 random alphanumerics', () => {
    const keys = new Set(Array.from({ length: 50 }, () => randomApiKey()));
    expect(keys.size).toBe(50);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9]{32}$/);
  });
});
