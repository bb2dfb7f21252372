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
  StringMap,
} from './common.ts';

export const DATABASESERVER_KIND = 'DatabaseServer';
export const DATABASESERVER_PLURAL = 'databaseservers';

/** The engines that hold a service's database (spec.database). */
export const DATABASE_ENGINES = ['postgres', 'mysql'] as const;
/** The engines that hold a service's cache (spec.cache). */
export const CACHE_ENGINES = ['redis'] as const;
/** The engines that hold services' broker users (spec.messaging). */
export const BROKER_ENGINES = ['rabbitmq'] as const;
/** Whether `engine` holds services' databases (as opposed to caches, or nothing we know). */
export const isDatabaseEngine = (engine: string | undefined): engine is DatabaseEngine =>
  (DATABASE_ENGINES as readonly (string | undefined)[]).includes(engine);
/** Every engine a DatabaseServer may run. */
export const SERVER_ENGINES = [...DATABASE_ENGINES, ...CACHE_ENGINES, ...BROKER_ENGINES] as const;

/** Which namespaces may use a server, as the Gateway API's listeners spell it (allowedRoutes.namespaces). */
export const NAMESPACE_FROM = ['All', 'Same', 'Selector'] as const;

/** A metav1.LabelSelector: matchLabels and matchExpressions, ANDed. */
export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(
      StringMap(Type.String({ maxLength: 63 }), { description: 'Labels the namespace must carry, all of them.' }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object({
          key: Type.String({ minLength: 1, maxLength: 317, description: 'The label key.' }),
          operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const, {
            description: 'In, NotIn, Exists or DoesNotExist.',
          }),
          values: Type.Optional(
            Type.Array(Type.String({ maxLength: 63 }), {
              maxItems: 64,
              description: 'For In and NotIn: the values; empty for Exists and DoesNotExist.',
            }),
          ),
        }),
        {
          maxItems: 16,
          description: 'Label requirements, all of which must hold.',
          'x-kubernetes-validations': [
            {
              rule: "self.all(e, e.operator in ['In', 'NotIn'] ? (has(e.values) && size(e.values) > 0) : (!has(e.values) || size(e.values) == 0))",
              message: 'In and NotIn need values; Exists and DoesNotExist take none',
            },
          ],
        },
      ),
    ),
  },
  { description: 'A label selector (metav1.LabelSelector); an empty one matches every namespace.' },
);

export const AllowedNamespacesSchema = Type.Object(
  {
    from: Type.Optional(
      StringEnum(NAMESPACE_FROM, {
        description:
          'All (the default: every namespace, as before this field existed), Same (only the namespace of ' +
          'adminSecretRef: a cluster-scoped server has no namespace of its own) or Selector (namespaces whose ' +
          'labels match selector).',
        default: 'All',
      }),
    ),
    selector: Type.Optional(LabelSelectorSchema),
  },
  {
    description:
      'Which namespaces may have databases (or caches) on this server. A MicroService in any other namespace ' +
      'gets DatabaseReady (or CacheReady) False with reason NamespaceNotAllowed, and nothing is created on the ' +
      'server or in its namespace.',
    'x-kubernetes-validations': [
      {
        rule: "has(self.from) && self.from == 'Selector' ? has(self.selector) : !has(self.selector)",
        message: 'selector is required with from: Selector, and allowed only then',
      },
    ],
  },
);

export const AdoptionSchema = Type.Object(
  {
    allowed: Type.Optional(
      Type.Boolean({
        description:
          'Whether a MicroService may take over a database, role or ACL user of its name that exists on the ' +
          'server but was not created by Flotilla. false (the default) refuses with reason NameConflict and ' +
          'changes nothing.',
        default: false,
      }),
    ),
    namespaces: Type.Optional(
      Type.Array(DnsLabel('A namespace.'), {
        maxItems: 64,
        description: 'The only namespaces whose MicroServices may adopt; required when allowed is true.',
      }),
    ),
  },
  {
    description:
      'Taking over what exists on the server without Flotilla’s mark of ownership. An adopted database gets ' +
      'the new role as its owner (postgres) or a grant to it (mysql), and the mark; an Event reports it.',
    'x-kubernetes-validations': [
      {
        rule: '!has(self.allowed) || !self.allowed || (has(self.namespaces) && size(self.namespaces) > 0)',
        message: 'adoption.allowed: true needs the namespaces that may adopt',
        fieldPath: '.namespaces',
      },
    ],
  },
);

export const DatabaseServerSpecSchema = Type.Object(
  {
    engine: StringEnum(SERVER_ENGINES, {
      description:
        'The kind of server: postgres or mysql (MariaDB included) for spec.database, redis (7 or later) ' +
        'for spec.cache, rabbitmq (3.10 or later, with the management plugin) for spec.messaging.',
    }),
    host: Type.String({
      description: 'Host name or IP address of the server, e.g. postgres.databases.svc.',
      minLength: 1,
      maxLength: 253,
      pattern: '^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$',
    }),
    port: PortNumber(
      'Port of the server (1-65535): usually 5432 for postgres, 3306 for mysql, 6379 for redis; for rabbitmq the ' +
        'AMQP port the services connect to, usually 5672.',
    ),
    managementUrl: Type.Optional(
      Type.String({
        description:
          'rabbitmq only, and required there: the base URL of the management HTTP API Flotilla provisions ' +
          'through, e.g. http://rabbitmq.messaging.svc:15672.',
        maxLength: 2048,
        pattern: '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$',
      }),
    ),
    adminSecretRef: Type.Object(
      {
        namespace: DnsLabel('Namespace of the Secret, e.g. flotilla-system.'),
        name: DnsSubdomain('Name of the Secret.'),
      },
      {
        description:
          'The Secret with the credentials Flotilla uses to create databases and roles (on redis: ACL users; on ' +
          'rabbitmq: users, with the administrator tag), keys username and password.',
      },
    ),
    allowedNamespaces: Type.Optional(AllowedNamespacesSchema),
    adoption: Type.Optional(AdoptionSchema),
  },
  {
    description: 'Where the server is and how Flotilla logs in.',
    'x-kubernetes-validations': [
      {
        rule: "self.engine == 'rabbitmq' ? has(self.managementUrl) : !has(self.managementUrl)",
        message: 'managementUrl is required with engine rabbitmq, and allowed only then',
        fieldPath: '.managementUrl',
      },
    ],
  },
);

export const DatabaseServerStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions('Ready: Flotilla can log in and create databases.')),
    serverVersion: Type.Optional(Type.String({ description: 'The version the server reports.' })),
    services: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'How many MicroServices use this server (spec.database, spec.cache or spec.messaging) from allowed namespaces.',
      }),
    ),
    refusedServices: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'How many MicroServices name this server from namespaces allowedNamespaces does not admit.',
      }),
    ),
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
      'that asks for a database, (engine redis) one ACL user per MicroService that asks for a cache, or (engine ' +
      'rabbitmq) one broker user per MicroService that asks for messaging.',
  },
);

export type LabelSelector = Static<typeof LabelSelectorSchema>;
export type AllowedNamespaces = Static<typeof AllowedNamespacesSchema>;
export type DatabaseServerSpec = Static<typeof DatabaseServerSpecSchema>;
export type DatabaseServerStatus = Static<typeof DatabaseServerStatusSchema>;
export type DatabaseServer = Static<typeof DatabaseServerSchema>;
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];
export type CacheEngine = (typeof CACHE_ENGINES)[number];
export type BrokerEngine = (typeof BROKER_ENGINES)[number];
export type ServerEngine = (typeof SERVER_ENGINES)[number];
