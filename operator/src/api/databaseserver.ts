// DatabaseServer (cluster-scoped): a PostgreSQL or MySQL server Flotilla may create databases on, or a
// Redis server it may create cache users on.
import { type Static, Type } from '@sinclair/typebox';
import {
  Conditions,
  DnsLabel,
  DnsSubdomain,
  ObservedGeneration,
  objectHeader,
  PortNumber,
  StringEnum,
} from './common.ts';

export const DATABASESERVER_KIND = 'DatabaseServer';
export const DATABASESERVER_PLURAL = 'databaseservers';

/** The engines that hold a service's database (spec.database). */
export const DATABASE_ENGINES = ['postgres', 'mysql'] as const;
/** The engines that hold a service's cache (spec.cache). */
export const CACHE_ENGINES = ['redis'] as const;
/** Every engine a DatabaseServer may run. */
export const SERVER_ENGINES = [...DATABASE_ENGINES, ...CACHE_ENGINES] as const;

export const DatabaseServerSpecSchema = Type.Object(
  {
    engine: StringEnum(SERVER_ENGINES, {
      description:
        'The kind of server: postgres or mysql (MariaDB included) for spec.database, redis (7 or later) ' +
        'for spec.cache.',
    }),
    host: Type.String({
      description: 'Host name or IP address of the server, e.g. postgres.databases.svc.',
      minLength: 1,
      maxLength: 253,
      pattern: '^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$',
    }),
    port: PortNumber('Port of the server (1-65535): usually 5432 for postgres, 3306 for mysql, 6379 for redis.'),
    adminSecretRef: Type.Object(
      {
        namespace: DnsLabel('Namespace of the Secret, e.g. flotilla-system.'),
        name: DnsSubdomain('Name of the Secret.'),
      },
      {
        description:
          'The Secret with the credentials Flotilla uses to create databases and roles (on redis: ACL users), keys ' +
          'username and password.',
      },
    ),
  },
  { description: 'Where the server is and how Flotilla logs in.' },
);

export const DatabaseServerStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions('Ready: Flotilla can log in and create databases.')),
    serverVersion: Type.Optional(Type.String({ description: 'The version the server reports.' })),
  },
  { description: 'What the controller observed.' },
);

export const DatabaseServerSchema = Type.Object(
  {
    ...objectHeader(),
    spec: DatabaseServerSpecSchema,
    status: Type.Optional(DatabaseServerStatusSchema),
  },
  {
    description:
      'A database server (cluster-scoped) on which Flotilla creates one database and one role per MicroService ' +
      'that asks for a database, or (engine redis) one ACL user per MicroService that asks for a cache.',
  },
);

export type DatabaseServerSpec = Static<typeof DatabaseServerSpecSchema>;
export type DatabaseServerStatus = Static<typeof DatabaseServerStatusSchema>;
export type DatabaseServer = Static<typeof DatabaseServerSchema>;
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];
export type CacheEngine = (typeof CACHE_ENGINES)[number];
export type ServerEngine = (typeof SERVER_ENGINES)[number];
