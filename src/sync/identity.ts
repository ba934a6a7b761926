// A syncthing identity per side and per workload: a fresh ECDSA P-256 key pair and a
// self-signed certificate, as syncthing makes its own. No key ships with kubectl-dev.
// The key comes from Node's crypto (about a millisecond, where an RSA key takes hundreds);
// the certificate is assembled and PEM-encoded with node-forge's ASN.1/DER tools (forge's
// own certificate signer only knows RSA) and signed with ECDSA-SHA256 by Node's crypto.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';
import { deviceIdFromPem } from './deviceid.ts';

export interface Identity {
  /** PEM certificate (syncthing's cert.pem). */
  certPem: string;
  /** PEM private key, PKCS#8 (syncthing's key.pem; Go's tls.LoadX509KeyPair reads it). */
  keyPem: string;
  deviceId: string;
}

export interface IdentityOptions {
  /** Start of validity (default: now); the certificate is valid for 20 years after it. */
  notBefore?: Date;
}

const LIFETIME_YEARS = 20;
const { asn1 } = forge;
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';

const seq = (...items: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const oid = (id: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
const bool = (value: boolean) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, value ? '\xff' : '\x00');
const octets = (der: forge.asn1.Asn1) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, asn1.toDer(der).getBytes());
const bits = (bytes: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\x00${bytes}`);
const utf8 = (text: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(text));
const time = (date: Date) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
const generalizedTime = (date: Date) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
const validityTime = (date: Date) => (date.getUTCFullYear() < 2050 ? time(date) : generalizedTime(date));

function name(): forge.asn1.Asn1 {
  const rdn = (type: string, value: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [seq(oid(type), utf8(value))]);
  // CN=syncthing, as syncthing's own certificates (device IDs do not depend on it).
  return seq(rdn(forge.pki.oids.organizationName!, 'Syncthing'), rdn(forge.pki.oids.organizationalUnitName!, 'kubectl-dev'), rdn(forge.pki.oids.commonName!, 'syncthing'));
}

function extension(id: string, critical: boolean, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** Generates a key pair and a self-signed certificate for one syncthing device. */
export function generateIdentity(options: IdentityOptions = {}): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // Positive serial: top bit off, next bit on (no leading zero byte to strip).
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const notBefore = new Date((options.notBefore ?? new Date()).getTime() - 24 * 3600 * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + LIFETIME_YEARS);
  const signatureAlgorithm = seq(oid(OID_ECDSA_SHA256));
  const spki = asn1.fromDer(forge.util.createBuffer(publicKey.export({ type: 'spki', format: 'der' }).toString('binary')));
  const keyUsage = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x05\xa0'); // digitalSignature, keyEncipherment
  const extKeyUsage = seq(oid(forge.pki.oids.serverAuth!), oid(forge.pki.oids.clientAuth!));
  const subjectAltName = seq(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, 'syncthing'));
  const tbs = seq(
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, '\x02')]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, serial.toString('binary')),
    signatureAlgorithm,
    name(),
    seq(validityTime(notBefore), validityTime(notAfter)),
    name(),
    spki,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(
      extension(forge.pki.oids.basicConstraints!, true, seq()),
      extension(forge.pki.oids.keyUsage!, true, keyUsage),
      extension(forge.pki.oids.extKeyUsage!, false, extKeyUsage),
      extension(forge.pki.oids.subjectAltName!, false, subjectAltName),
    )]),
  );
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, privateKey).toString('binary');
  const certificate = seq(tbs, signatureAlgorithm, bits(signature));
  const certPem = forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificate).getBytes() });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem, deviceId: deviceIdFromPem(certPem) };
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

/** bcrypt's base64 alphabet. */
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A GUI user and password hash for syncthing's config, fresh for every workload (sidecar) and
 * every session (laptop). With a user and a password set, syncthing's GUI and REST API let a
 * request in only with the API key, a login session or basic auth — not with the CSRF cookie
 * that any GET of "/" hands out (issue 17).
 *
 * Nobody ever logs in: kubectl-dev talks to syncthing with the API key. So the password is
 * never made at all: the hash is bcrypt's format (`$2a$10$`, a 22-character salt and a
 * 31-character digest) with a random salt and a random digest. syncthing checks a password by
 * computing bcrypt of it with that salt and comparing digests; finding a password whose digest
 * is a given random one is a preimage attack on bcrypt, so this hash is what hashing a random
 * password and forgetting it would give, without a bcrypt implementation in kubectl-dev.
 */
export function randomGuiCredentials(): { user: string; passwordHash: string } {
  const bytes = randomBytes(53);
  let tail = '';
  for (const byte of bytes) tail += BCRYPT_ALPHABET[byte & 63];
  return { user: `kubectl-dev-${randomApiKey(8).toLowerCase()}`, passwordHash: `$2a$10$${tail}` };
}
