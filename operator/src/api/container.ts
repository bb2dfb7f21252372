// The container-level pieces of the MicroService schema: env (core/v1 EnvVar), envFrom, resources,
// and the curated container shape of sidecars and init containers.
import { type Static, Type } from '@sinclair/typebox';
import { DnsLabel, DnsSubdomain, PortNumber, Quantity, StringEnum, StringMap } from './common.ts';

const KeySelector = (what: string) =>
  Type.Object(
    {
      name: DnsSubdomain(`Name of the ${what} in the service's namespace.`),
      key: Type.String({ description: `The key of the ${what} to read.`, minLength: 1, maxLength: 253 }),
      optional: Type.Optional(Type.Boolean({ description: `Whether the ${what} or its key may be missing.` })),
    },
    { description: `Selects a key of a ${what}.` },
  );

export const EnvVar = Type.Object(
  {
    name: Type.String({
      description: 'Name of the environment variable.',
      pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$',
      minLength: 1,
      maxLength: 256,
    }),
    value: Type.Optional(
      Type.String({ description: 'The value. Use valueFrom instead to read it from a Secret or a ConfigMap.' }),
    ),
    valueFrom: Type.Optional(
      Type.Object(
        {
          secretKeyRef: Type.Optional(KeySelector('Secret')),
          configMapKeyRef: Type.Optional(KeySelector('ConfigMap')),
          fieldRef: Type.Optional(
            Type.Object(
              {
                apiVersion: Type.Optional(Type.String({ description: 'Version of the schema fieldPath is in (v1).' })),
                fieldPath: Type.String({ description: 'Path of the field of the pod, e.g. metadata.name.' }),
              },
              { description: 'Selects a field of the pod.' },
            ),
          ),
          resourceFieldRef: Type.Optional(
            Type.Object(
              {
                containerName: Type.Optional(Type.String({ description: 'The container; the service container.' })),
                resource: Type.String({ description: 'The resource, e.g. limits.cpu or requests.memory.' }),
                divisor: Type.Optional(Quantity('Output format of the exposed resource; defaults to 1.')),
              },
              { description: 'Selects a resource (limit or request) of the container.' },
            ),
          ),
        },
        {
          description: 'Where the value comes from, as in core/v1 EnvVarSource. Exactly one source.',
          'x-kubernetes-validations': [
            {
              rule: '[has(self.secretKeyRef), has(self.configMapKeyRef), has(self.fieldRef), has(self.resourceFieldRef)].filter(x, x).size() == 1',
              message: 'valueFrom must set exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef',
            },
          ],
        },
      ),
    ),
  },
  {
    description: 'An environment variable of the service container (core/v1 EnvVar).',
    'x-kubernetes-validations': [
      {
        rule: "!has(self.valueFrom) || !has(self.value) || self.value == ''",
        message: 'an environment variable takes either value or valueFrom, not both',
      },
    ],
  },
);

const ResourceList = (what: string) =>
  StringMap(Quantity('A quantity, e.g. 100m for CPU or 128Mi for memory.'), {
    description: `${what}, by resource name (cpu, memory, ephemeral-storage, ...).`,
    maxProperties: 16,
  });

export const Resources = Type.Object(
  {
    requests: Type.Optional(ResourceList('The resources the scheduler reserves for each pod')),
    limits: Type.Optional(ResourceList('The most each pod may use')),
  },
  { description: 'Compute resources of the service container (core/v1 ResourceRequirements).' },
);

/** Whether a change of the referenced data rolls the pods; see spec.files and spec.envFrom. */
export const RollOnChange = (what: string) =>
  Type.Optional(
    Type.Boolean({
      description:
        `Whether a change of the ${what}'s data rolls the pods (default true): its data is hashed into the pod ` +
        'template, so an edit is released like an image change (through the Rollout when there is one). Set ' +
        'false for data the service reloads by itself.',
    }),
  );

const LocalRef = (what: string) =>
  Type.Object(
    {
      name: DnsSubdomain(`Name of the ${what} in the service's namespace.`),
      optional: Type.Optional(
        Type.Boolean({ description: `Whether the ${what} may be missing (default false: the pod waits for it).` }),
      ),
    },
    { description: `A ${what} of the service's namespace.` },
  );

export const EnvFromSource = Type.Object(
  {
    configMapRef: Type.Optional(LocalRef('ConfigMap')),
    secretRef: Type.Optional(LocalRef('Secret')),
    prefix: Type.Optional(
      Type.String({
        description: 'A prefix put before every key of the source to make the variable name.',
        pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$',
        maxLength: 128,
      }),
    ),
    rollOnChange: RollOnChange('ConfigMap or Secret'),
  },
  {
    description:
      'Every key of a ConfigMap or a Secret as environment variables of the service container (core/v1 ' +
      'EnvFromSource). Exactly one of configMapRef, secretRef.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.configMapRef) != has(self.secretRef)',
        message: 'an envFrom entry sets exactly one of configMapRef, secretRef',
      },
    ],
  },
);

export const ENV_LIST_RULE = {
  rule: 'self.all(e, self.exists_one(f, f.name == e.name))',
  message: 'environment variable names must be unique',
};

export const Command = (what: string) =>
  Type.Array(Type.String({ maxLength: 4096 }), {
    description: `The ${what}, run without a shell (core/v1 Container command).`,
    maxItems: 256,
  });

export const Args = (what: string) =>
  Type.Array(Type.String({ maxLength: 4096 }), {
    description: `Arguments to the ${what}'s entry point (core/v1 Container args); $(VAR) expands an environment variable.`,
    maxItems: 256,
  });

const ContainerPort = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description: 'Name of the port (an IANA service name, at most 15 characters).',
        pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
        maxLength: 15,
      }),
    ),
    containerPort: PortNumber('The port the container listens on.'),
    protocol: Type.Optional(
      StringEnum(['TCP', 'UDP', 'SCTP'] as const, { description: 'TCP (default), UDP or SCTP.' }),
    ),
  },
  { description: 'A port the container listens on (core/v1 ContainerPort).' },
);

/** The curated container of spec.sidecars and spec.initContainers. */
export const ExtraContainer = (what: string) =>
  Type.Object(
    {
      name: DnsLabel(`Name of the ${what}: unique among the pod's containers, and not the service's own name.`),
      image: Type.String({ description: 'The container image.', minLength: 1, maxLength: 1024, pattern: '^[^\\s]+$' }),
      command: Type.Optional(Command(`${what}'s entry point`)),
      args: Type.Optional(Args(what)),
      env: Type.Optional(
        Type.Array(EnvVar, {
          description: `Environment variables of the ${what} (core/v1 EnvVar).`,
          maxItems: 64,
          'x-kubernetes-validations': [ENV_LIST_RULE],
        }),
      ),
      ports: Type.Optional(Type.Array(ContainerPort, { description: `Ports of the ${what}.`, maxItems: 16 })),
      resources: Type.Optional(Resources),
      files: Type.Optional(
        Type.Array(Type.String({ maxLength: 1024 }), {
          description: `Paths of spec.files entries to mount in the ${what} too, read-only at the same path.`,
          maxItems: 32,
          'x-kubernetes-list-type': 'set',
        }),
      ),
    },
    {
      description:
        `A ${what} (a curated subset of core/v1 Container). It runs with the same restricted security context ` +
        'as the service container.',
    },
  );

export type EnvVarSpec = Static<typeof EnvVar>;
export type ResourcesSpec = Static<typeof Resources>;
export type EnvFromSpec = Static<typeof EnvFromSource>;
export type ExtraContainerSpec = Static<ReturnType<typeof ExtraContainer>>;
