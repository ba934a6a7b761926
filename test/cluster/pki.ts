// Certificates for the test control plane, made with node-forge (RSA keys
// come from Node's native generator through forge).
//   ca.crt/ca.key        self-signed CA
//   admin.crt/admin.key  CN=kubernetes-admin, O=system:masters; client AND
//                        serving cert (SANs 127.0.0.1, localhost, kubernetes.default...)
//                        used by the test kubeconfig, kube-apiserver and kwok's server,
//                        as kwokctl does
//   sa.key/sa.pub        service-account token signing key
//   node.crt/node.key    CN=system:node:NAME, O=system:nodes: a real kubelet's client cert (writeNodeCert)
import * as fs from 'node:fs';
import * as path from 'node:path';
import forge from 'node-forge';

export interface Pki {
  caCert: string;
  caKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    adminCert: path.join(dir, 'admin.crt'),
    adminKey: path.join(dir, 'admin.key'),
    saKey: path.join(dir, 'sa.key'),
    saPub: path.join(dir, 'sa.pub'),
  };
}

function keyPair(): forge.pki.rsa.KeyPair {
  // forge uses crypto.generateKeyPairSync when running under Node.
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function serial(): string {
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

function validity(cert: forge.pki.Certificate): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + 365 * 24 * 60 * 60 * 1000);
}

export function writePki(dir: string): Pki {
  fs.mkdirSync(dir, { recursive: true });
  const p = pkiPaths(dir);

  const caKeys = keyPair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca);
  const caSubject = [{ name: 'commonName', value: 'kubectl-dev-test-ca' }];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const adminKeys = keyPair();
  const admin = forge.pki.createCertificate();
  admin.publicKey = adminKeys.publicKey;
  admin.serialNumber = serial();
  validity(admin);
  admin.setSubject([
    { name: 'commonName', value: 'kubernetes-admin' },
    { name: 'organizationName', value: 'system:masters' },
  ]);
  admin.setIssuer(caSubject);
  admin.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
        { type: 2, value: 'kubernetes' },
        { type: 2, value: 'kubernetes.default' },
        { type: 2, value: 'kubernetes.default.svc' },
        { type: 2, value: 'kubernetes.default.svc.cluster.local' },
      ],
    },
  ]);
  admin.sign(caKeys.privateKey, forge.md.sha256.create());

  const saKeys = keyPair();

  const write = (file: string, data: string, mode = 0o600) => fs.writeFileSync(file, data, { mode });
  write(p.caCert, forge.pki.certificateToPem(ca), 0o644);
  write(p.caKey, forge.pki.privateKeyToPem(caKeys.privateKey));
  write(p.adminCert, forge.pki.certificateToPem(admin), 0o644);
  write(p.adminKey, forge.pki.privateKeyToPem(adminKeys.privateKey));
  write(p.saKey, forge.pki.privateKeyToPem(saKeys.privateKey));
  write(p.saPub, forge.pki.publicKeyToPem(saKeys.publicKey), 0o644);
  return p;
}

/** A user's client certificate (CN = the user name, O = its groups) signed by the cluster CA, as PEM: for tests of two developers. */
export function userClientCert(pki: Pick<Pki, 'caCert' | 'caKey'>, user: string, groups: readonly string[]): { cert: string; key: string } {
  const ca = forge.pki.certificateFromPem(fs.readFileSync(pki.caCert, 'utf8'));
  const caKey = forge.pki.privateKeyFromPem(fs.readFileSync(pki.caKey, 'utf8'));
  const keys = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert);
  // UTF8String: a PrintableString (forge's default) cannot hold '@', and the API server's TLS then refuses the certificate.
  const utf8 = forge.asn1.Type.UTF8 as number;
  cert.setSubject([{ name: 'commonName', value: user, valueTagClass: utf8 }, ...groups.map((value) => ({ name: 'organizationName', value, valueTagClass: utf8 }))] as forge.pki.CertificateField[]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** userClientCert written under `outDir` as NAME.crt (0644) and NAME.key (0600). */
export function writeClientCert(pki: Pick<Pki, 'caCert' | 'caKey'>, user: string, groups: readonly string[], outDir: string, fileName: string): { cert: string; key: string } {
  const pem = userClientCert(pki, user, groups);
  fs.mkdirSync(outDir, { recursive: true });
  const out = { cert: path.join(outDir, `${fileName}.crt`), key: path.join(outDir, `${fileName}.key`) };
  fs.writeFileSync(out.cert, pem.cert, { mode: 0o644 });
  fs.writeFileSync(out.key, pem.key, { mode: 0o600 });
  return out;
}

/** A kubelet's client certificate (the Node authorizer's identity for node `nodeName`), signed by the cluster CA. */
export function writeNodeCert(pki: Pki, nodeName: string): { cert: string; key: string } {
  return writeClientCert(pki, `system:node:${nodeName}`, ['system:nodes'], path.dirname(pki.caCert), 'node');
}
