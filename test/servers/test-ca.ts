/**
 * A throwaway certificate authority made with openssl at test time, and one server certificate
 * it signed for the Blob object hosts and 127.0.0.0/8 test addresses. Nothing is committed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  dir: string;
  /** PEM of the CA: give it to NODE_EXTRA_CA_CERTS or nginx's proxy_ssl_trusted_certificate. */
  caFile: string;
  cert: string;
  key: string;
  ca: string;
  cleanup(): void;
}

/** A CA and a server certificate for `names` (DNS names, wildcards allowed) and `ips`. */
export function makeTestCertificates(names: readonly string[], ips: readonly string[]): TestCertificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'dv-ca-'));
  // nginx workers run as nobody and read the CA file.
  chmodSync(dir, 0o755);
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=next-downloadview test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=next-downloadview test server');
  const san = [...names.map((name) => `DNS:${name}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(file('server.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext'));
  chmodSync(file('ca.pem'), 0o644);
  return {
    dir,
    caFile: file('ca.pem'),
    cert: readFileSync(file('server.pem'), 'utf8'),
    key: readFileSync(file('server.key'), 'utf8'),
    ca: readFileSync(file('ca.pem'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
