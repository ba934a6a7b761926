import * as fs from 'node:fs';
import * as path from 'node:path';
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

  it('are self-signed syncthing certificates whose key matches', () => {
    const id = generateIdentity({ bits: 2048 });
    const cert = forge.pki.certificateFromPem(id.certPem);
    expect(cert.subject.getField('CN').value).toBe('syncthing');
    expect(cert.verify(cert)).toBe(true);
    const key = forge.pki.privateKeyFromPem(id.keyPem);
    expect((cert.publicKey as forge.pki.rsa.PublicKey).n.equals(key.n)).toBe(true);
    expect(id.keyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(cert.validity.notAfter.getUTCFullYear() - cert.validity.notBefore.getUTCFullYear()).toBe(20);
    expect(isValidDeviceId(id.deviceId)).toBe(true);
  });

  it('differ every time (no shipped key)', () => {
    const a = generateIdentity({ bits: 2048 });
    const b = generateIdentity({ bits: 2048 });
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
