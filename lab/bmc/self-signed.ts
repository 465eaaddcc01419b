// A throwaway self-signed certificate for 127.0.0.1 (openssl), for lab BMCs that speak HTTPS.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface CertificateFiles {
  certificatePath: string;
  keyPath: string;
}

/** Writes cert.pem and key.pem (EC P-256, one day, CN and subjectAltName 127.0.0.1) into `directory`. */
export function createSelfSignedCertificate(directory: string): CertificateFiles {
  const certificatePath = join(directory, 'cert.pem');
  const keyPath = join(directory, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certificatePath, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certificatePath, keyPath };
}
