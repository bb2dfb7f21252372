// `npm run databases -- up | down | status | env`: the real PostgreSQL, MariaDB, Redis and RabbitMQ servers for
// tests, private and on loopback (or the existing ones named by FLOTILLA_POSTGRES_URL / FLOTILLA_MYSQL_URL /
// FLOTILLA_REDIS_URL / FLOTILLA_RABBITMQ_URL).
import { Command } from 'commander';
import { buildRedisUrl } from '../../operator/src/database/cache-user.ts';
import { buildDatabaseUrl } from '../../operator/src/database/index.ts';
import { ENGINES, type LocalServerName, RABBITMQ_URL_VARIABLE, REDIS_URL_VARIABLE, URL_VARIABLES } from './config.ts';
import { localAdmin } from './local.ts';
import {
  externalRabbitmq,
  localRabbitmqAdmin,
  type RabbitmqServer,
  rabbitmqDown,
  rabbitmqStatus,
  rabbitmqUp,
} from './rabbitmq.ts';
import { externalRedis, localRedisAdmin, redisDown, redisStatus, redisUp } from './redis.ts';
import { down, externalServer, status, up } from './servers.ts';

function pick(engine: string | undefined): readonly LocalServerName[] {
  if (engine === undefined) return [...ENGINES, 'redis', 'rabbitmq'];
  if (engine === 'postgres' || engine === 'mysql' || engine === 'redis' || engine === 'rabbitmq') return [engine];
  throw new Error(`unknown engine ${JSON.stringify(engine)}: postgres, mysql, redis or rabbitmq`);
}

const isRedis = (name: LocalServerName): name is 'redis' => name === 'redis';

function describeRabbitmq(server: RabbitmqServer): string {
  return `rabbitmq: AMQP ${server.amqpHost}:${server.amqpPort}, management API ${server.managementUrl} (admin ${server.username})`;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<void> {
  const program = new Command('databases')
    .description('The real PostgreSQL, MariaDB, Redis and RabbitMQ servers Flotilla is tested on, on 127.0.0.1')
    .showHelpAfterError();

  program
    .command('up [engine]')
    .description('start the servers (installed from Debian packages when missing and root), or reuse them')
    .action(async (engine?: string) => {
      for (const name of pick(engine)) {
        if (name === 'rabbitmq') {
          console.log(describeRabbitmq(await rabbitmqUp()));
          continue;
        }
        const admin = isRedis(name) ? await redisUp() : await up(name);
        console.log(`${name}: ${admin.host}:${admin.port} (admin ${admin.username ?? 'default'})`);
      }
    });

  program
    .command('down [engine]')
    .description('stop the servers; no process is left behind')
    .option('--purge', 'also remove their data and admin passwords')
    .action(async (engine: string | undefined, options: { purge?: boolean }) => {
      for (const name of pick(engine)) {
        if (name === 'rabbitmq') await rabbitmqDown(options.purge ?? false);
        else if (isRedis(name)) await redisDown(options.purge ?? false);
        else await down(name, options.purge ?? false);
      }
    });

  program
    .command('status [engine]')
    .description('what runs, where, and whether the admin can log in')
    .action(async (engine?: string) => {
      let allRunning = true;
      for (const name of pick(engine)) {
        const result =
          name === 'rabbitmq' ? await rabbitmqStatus() : isRedis(name) ? await redisStatus() : await status(name);
        console.log(result.lines.join('\n'));
        allRunning &&= result.running;
      }
      if (!allRunning) process.exitCode = 3;
    });

  program
    .command('env')
    .description('print the admin URLs as shell exports (includes the local test password): eval "$(… env)"')
    .action(() => {
      for (const name of ENGINES) {
        const admin = externalServer(name) ?? localAdmin(name);
        if (!admin) {
          console.error(`# ${name}: no admin password yet; run \`npm run databases -- up\` first`);
          continue;
        }
        const url = buildDatabaseUrl({
          engine: name,
          host: admin.host,
          port: admin.port,
          username: admin.username,
          password: admin.password,
          database: admin.database ?? '',
        });
        console.log(`export ${URL_VARIABLES[name]}=${shellQuote(url)}`);
      }
      const redis = externalRedis() ?? localRedisAdmin();
      if (!redis) console.error('# redis: no admin password yet; run `npm run databases -- up redis` first');
      else {
        const url = buildRedisUrl({ ...redis, username: redis.username ?? 'default' });
        console.log(`export ${REDIS_URL_VARIABLE}=${shellQuote(url)}`);
      }
      const rabbitmq = externalRabbitmq() ?? localRabbitmqAdmin();
      if (rabbitmq) {
        const url = new URL(rabbitmq.managementUrl);
        url.username = rabbitmq.username;
        url.password = rabbitmq.password;
        console.log(`export ${RABBITMQ_URL_VARIABLE}=${shellQuote(url.toString().replace(/\/+$/, ''))}`);
      }
    });

  await program.parseAsync();
}

main().catch((error: unknown) => {
  console.error(`databases: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
