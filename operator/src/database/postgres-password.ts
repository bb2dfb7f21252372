// Does a role's stored password (pg_authid.rolpassword) match a candidate? Lets ensureDatabase leave a
// correct password alone instead of setting it on every call. Pure (hashing only).
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

/**
 * true / false when `stored` is a SCRAM-SHA-256 or md5 verifier; undefined when it is missing or in a
 * form this does not know (then the caller sets the password to be sure).
 */
export function postgresPasswordMatches(
  stored: string | null,
  username: string,
  candidate: string,
): boolean | undefined {
  if (!stored) return undefined;
  const scram = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(stored);
  if (scram) {
    const [, iterations, salt, storedKey] = scram as unknown as [string, string, string, string];
    // SASLprep of an ASCII password is the password itself; NFKC is what it does to the rest that matters here.
    const salted = pbkdf2Sync(
      candidate.normalize('NFKC'),
      Buffer.from(salt, 'base64'),
      Number(iterations),
      32,
      'sha256',
    );
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const computed = createHash('sha256').update(clientKey).digest();
    const expected = Buffer.from(storedKey, 'base64');
    return expected.length === computed.length && timingSafeEqual(expected, computed);
  }
  if (/^md5[0-9a-f]{32}$/.test(stored)) {
    return (
      stored ===
      `md5${createHash('md5')
        .update(candidate + username)
        .digest('hex')}`
    );
  }
  return undefined;
}

/**
 * A SCRAM-SHA-256 verifier for `password`, the form PostgreSQL stores. Sending it in CREATE/ALTER ROLE
 * keeps the plain password out of the server's statement log.
 */
export function buildScramVerifier(password: string, salt: Buffer, iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
