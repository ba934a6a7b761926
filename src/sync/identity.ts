// A syncthing identity per side and per workload: a fresh RSA key pair and a
// self-signed certificate made with node-forge. No key ships with kubectl-dev.
// (node-forge signs X.509 with RSA only; syncthing accepts RSA certificates as it
// did before it switched its own to ECDSA.)

import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { deviceIdFromPem } from './deviceid.ts';

export interface Identity {
  /** PEM certificate (syncthing's cert.pem). */
  certPem: string;
  /** PEM private key, PKCS#1 (syncthing's key.pem; Go's tls.LoadX509KeyPair reads it). */
  keyPem: string;
  deviceId: string;
}

export interface IdentityOptions {
  /** Key size in bits; 3072 as syncthing's own RSA certificates were. */
  bits?: number;
  /** Start of validity (default: now); the certificate is valid for 20 years after it. */
  notBefore?: Date;
}

const LIFETIME_YEARS = 20;

/**
 * Generates a key pair and a self-signed certificate with syncthing's subject
 * (CN=syncthing). node-forge uses Node's native key generation when available.
 */
export function generateIdentity(options: IdentityOptions = {}): Identity {
  const keys = forge.pki.rsa.generateKeyPair({ bits: options.bits ?? 3072, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  // Positive serial: a leading 0 byte would be stripped, so force the top bit off and keep 1 set.
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  cert.serialNumber = serial.toString('hex');
  const notBefore = new Date((options.notBefore ?? new Date()).getTime() - 24 * 3600 * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + LIFETIME_YEARS);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [
    { name: 'commonName', value: 'syncthing' },
    { name: 'organizationName', value: 'Syncthing' },
    { name: 'organizationalUnitName', value: 'kubectl-dev' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'syncthing' }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return { certPem, keyPem: forge.pki.privateKeyToPem(keys.privateKey), deviceId: deviceIdFromPem(certPem) };
}

/** A random API key for syncthing's REST interface: 32 characters of [A-Za-z0-9]. */
export function randomApiKey(length = 32): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // 62 * 4 = 248: reject bytes >= 248 so every character is equally likely.
      if (byte < 248 && out.length < length) out += alphabet[byte % 62];
    }
  }
  return out;
}
