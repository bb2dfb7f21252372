// What the non-SQL servers of `npm run databases` (redis, rabbitmq) share: their status lines, and bringing one
// up once per test process.
import { ADMIN_USERNAME, type LocalServerName, passwordFile } from './config.ts';
import type { ServerStatus } from './local.ts';

export type ProbeResult = { ok: true; version: string } | { ok: false; why: string };

/** The status of the existing server a URL variable names, from its probe. Pure. */
export function externalStatus(engine: LocalServerName, where: string, variable: string, result: ProbeResult) {
  const said = result.ok ? `version ${result.version}` : result.why;
  return { engine, running: result.ok, lines: [`${engine}: external server ${where} from ${variable}: ${said}`] };
}

/** The status of the private server: `first` line, then whether the admin logs in and where its password is. */
export async function localStatus<A>(
  engine: LocalServerName,
  running: boolean,
  first: string,
  admin: A | undefined,
  probe: (admin: A) => Promise<ProbeResult>,
): Promise<ServerStatus> {
  const lines = [first];
  if (running && admin) {
    const result = await probe(admin);
    lines.push(
      result.ok
        ? `  admin ${ADMIN_USERNAME} logs in; server version ${result.version}`
        : `  admin cannot log in: ${result.why}`,
    );
  }
  lines.push(`  admin password file ${passwordFile(engine)}${admin ? '' : ' (not created yet)'}`);
  return { engine, running, lines };
}

/** For tests: `up` once per process; without a server the test fails saying how to get one (never skips). */
export function oncePerProcess<T>(engine: LocalServerName, up: () => Promise<T>, how: string): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= up().catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`No ${engine} server for this test: ${why}\nHow to get one: ${how}`);
    });
    return pending;
  };
}
