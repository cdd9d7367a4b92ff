// Preload (`NODE_OPTIONS=--import <this file>`): Vercel Blob object hosts (*.blob.vercel-storage.com,
// hard-coded in @vercel/blob) resolve to DOWNLOADVIEW_TEST_BLOB_IP, where the test's Blob server
// listens on 443 with a certificate from the test CA (DOWNLOADVIEW_TEST_BLOB_CA), or on
// DOWNLOADVIEW_TEST_BLOB_PORT when it could not bind 443 (not root). Only where the connection
// goes changes: the URL, Host header, TLS, SNI and certificate checks stay as in production. Installed as the
// global undici dispatcher, which @vercel/blob's undici, Node's fetch and Next's bundled undici all read.
import { lookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createSecureContext, rootCertificates } from 'node:tls';

// The undici @vercel/blob itself resolves (not a dependency of this project of its own).
const require = createRequire(import.meta.url);
const { Agent, buildConnector, setGlobalDispatcher } = createRequire(require.resolve('@vercel/blob'))('undici');

const ip = process.env.DOWNLOADVIEW_TEST_BLOB_IP;
if (ip) {
  /**
   * dns.lookup's signature, as undici's `connect.lookup` calls it.
   * @param {string} hostname
   * @param {import('node:dns').LookupOptions} options
   * @param {(error: NodeJS.ErrnoException | null, address: string | import('node:dns').LookupAddress[], family?: number) => void} callback
   */
  const remap = (hostname, options, callback) => {
    if (!/\.blob\.vercel-storage\.com$/.test(hostname)) return lookup(hostname, options, /** @type {any} */ (callback));
    if (options?.all) return callback(null, [{ address: ip, family: 4 }]);
    return callback(null, ip, 4);
  };
  // DOWNLOADVIEW_TEST_BLOB_CA adds the test CA for this dispatcher (NODE_EXTRA_CA_CERTS does it
  // process-wide, but only when set before the process starts). One secure context, made here:
  // given as `ca`, undici's connector parses the ~140 roots again for every connection, ~30 ms of
  // CPU each on the CI machine, which the bench's remote targets would count as the app's.
  const caFile = process.env.DOWNLOADVIEW_TEST_BLOB_CA;
  const secureContext = caFile ? createSecureContext({ ca: [...rootCertificates, readFileSync(caFile, 'utf8')] }) : undefined;
  const connectOptions = { lookup: remap, ...(secureContext ? { secureContext } : {}) };
  const port = Number(process.env.DOWNLOADVIEW_TEST_BLOB_PORT || 443);
  const connector = buildConnector(connectOptions);
  /** undici's connector, sending Blob object hosts to `port` (the URL still says 443). */
  const connect = (/** @type {any} */ options, /** @type {any} */ callback) =>
    connector(/\.blob\.vercel-storage\.com$/.test(options.hostname) ? { ...options, port: String(port) } : options, callback);
  setGlobalDispatcher(new Agent(port === 443 ? { connect: connectOptions } : { connect }));
}
