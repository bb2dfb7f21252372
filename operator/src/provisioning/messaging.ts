// Messaging on RabbitMQ, for services with spec.messaging. In this order, so that a crash at any point ends
// well on the next reconcile:
//   1. the finalizer `flotilla.dev/messaging`, once the broker and its admin Secret are known to be usable and
//      the user is one this service may have;
//   2. the Secret `<name>-mq` with a generated password, created once (never regenerated while it exists);
//   3. ensureBrokerUser: the vhost, the user `<namespace>.<name>` with the Secret's password, its permissions
//      (derived from publishes and subscribesTo) and limits; bindings it may no longer have are removed.
// release() applies reclaimPolicy when the MicroService is deleted or its messaging removed: Delete deletes
// the user, its queues and its exchanges; Retain keeps them. Nothing here logs or returns a password.
import type { MicroService } from '../api/microservice.ts';
import {
  type BrokerAdminConnection,
  type BrokerUser,
  computeBrokerUser,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_CONNECTIONS,
} from '../database/broker-user.ts';
import { generatePassword, InvalidIdentifierError, OwnershipConflictError, redact } from '../database/index.ts';
import { type BrokerEngine, BrokerFailure, createRabbitmqEngine } from '../database/rabbitmq.ts';
import { buildMessagingSecret, messagingSecretName } from '../desired/messaging.ts';
import { identityOf } from '../desired/meta.ts';
import { hasFinalizer } from '../kube/finalizers.ts';
import { type KubeObject, secretType } from '../kube/objects.ts';
import type { ProvisionContext, Provisioned, Provisioner, Released } from './provisioner.ts';
import { ProvisionReason } from './reasons.ts';
import { ensureCredentialsSecret, ProvisionFailure, readAdminSecret } from './secrets.ts';
import {
  admittedServer,
  claimFinalizer,
  failedProvision,
  mustReleaseFinalizer,
  provisionedEvents,
  releaseUser,
  type ServerOfEngine,
  type ServerUserOptions,
  secretDataHash,
  serverOfEngine,
} from './server-user.ts';
import { adoptionAllowed } from './tenancy.ts';

export const MESSAGING_FINALIZER = 'flotilla.dev/messaging';
export const MESSAGING_READY = 'MessagingReady';

export const MessagingReason = {
  ...ProvisionReason,
  /** The DatabaseServer's engine is not rabbitmq. */
  NotARabbitmqServer: 'NotARabbitmqServer',
} as const;

const RABBITMQ = { engine: 'rabbitmq', wrongEngine: MessagingReason.NotARabbitmqServer, field: 'spec.messaging' };

export interface MessagingOptions extends ServerUserOptions {
  /** Makes the engine of a server (tests and the benchmark count its calls); the management API by default. */
  engine?: (admin: BrokerAdminConnection) => BrokerEngine;
  /** Called right after the Secret `<name>-mq` was created (tests crash the operator here). */
  afterSecretCreated?: () => void;
}

export class MessagingProvisioner implements Provisioner<'messaging'> {
  readonly field = 'messaging';
  readonly #options: MessagingOptions;

  constructor(options: MessagingOptions) {
    this.#options = options;
  }

  wants(ms: MicroService): boolean {
    return ms.spec.messaging !== undefined;
  }

  /** Provisions the broker user of `ms` (which has spec.messaging); never throws for the server's failures. */
  async provision(ms: MicroService, _context?: ProvisionContext): Promise<Provisioned<'messaging'>> {
    const { name, namespace } = identityOf(ms);
    const serverRef = ms.spec.messaging?.serverRef ?? '';
    const secretName = messagingSecretName(name);
    try {
      const server = admittedServer(this.#options, serverRef, namespace, RABBITMQ);
      const user = this.#user(ms);
      // A user without Flotilla's mark is taken over only where the server's spec.adoption names the namespace.
      const owner = { owner: `${namespace}/${name}`, adopt: adoptionAllowed(server.tenancy, namespace) };
      const engine = await this.#engine(server);
      if (!hasFinalizer(ms, MESSAGING_FINALIZER)) {
        // Before anything exists that would need deleting, and only once the broker can be used and the user is
        // one this service may have: a service refused there has nothing to release, and gets no Secret.
        const check = await engine.checkConnection();
        if (!check.ok) throw new ProvisionFailure(check.reason, check.message, true);
        await this.#onServer(server, [], () => engine.checkBrokerOwnership(user, owner));
        await claimFinalizer(this.#options, ms, MESSAGING_FINALIZER);
      }
      const data = await this.#ensureSecret(ms, server, user);
      const password = data.data.password ?? '';
      const { actions } = await this.#onServer(server, [password], () =>
        engine.ensureBrokerUser(user, { ...owner, password }),
      );
      const message =
        `user ${user.username} in vhost ${user.vhost} on DatabaseServer ${serverRef}: exchange ${user.exchange}, ` +
        `queues ${user.exchange}.*` +
        (ms.spec.messaging?.subscribesTo?.length
          ? `, subscribed to ${ms.spec.messaging.subscribesTo.join(', ')}`
          : '') +
        `; credentials in Secret ${secretName}`;
      const done = [...(data.created ? ['CreateSecret'] : []), ...actions];
      return {
        field: 'messaging',
        condition: { type: MESSAGING_READY, status: 'True', reason: MessagingReason.Provisioned, message },
        status: {
          serverRef,
          vhost: user.vhost,
          username: user.username,
          exchange: user.exchange,
          secretName,
          reclaimPolicy: ms.spec.messaging?.reclaimPolicy ?? 'Retain',
        },
        credentialsHash: secretDataHash(data.data),
        events: provisionedEvents(done, message, { adopted: 'MessagingAdopted', provisioned: 'MessagingProvisioned' }),
        retry: false,
      };
    } catch (error) {
      if (!(error instanceof ProvisionFailure)) throw error;
      return failedProvision(ms, 'messaging', MESSAGING_READY, 'MessagingFailed', error);
    }
  }

  /** Holding the finalizer while being deleted, or after spec.messaging was removed. */
  mustRelease(ms: MicroService): boolean {
    return mustReleaseFinalizer(ms, MESSAGING_FINALIZER, ms.spec.messaging !== undefined);
  }

  /**
   * The MicroService is being deleted, or its messaging was removed: with reclaimPolicy Delete the user, its
   * queues and its exchanges are deleted, with Retain they are kept; then the finalizer goes. The reclaimPolicy
   * of a removed spec.messaging is the one last provisioned (status.messaging.reclaimPolicy), else Retain. A server
   * that is gone gives up at once; one that does not answer is retried until releaseTimeoutMs after deletion.
   */
  async release(ms: MicroService, _context?: ProvisionContext): Promise<Released> {
    const { name, namespace } = identityOf(ms);
    const serverRef = ms.spec.messaging?.serverRef ?? ms.status?.messaging?.serverRef ?? '';
    const policy = ms.spec.messaging?.reclaimPolicy ?? ms.status?.messaging?.reclaimPolicy ?? 'Retain';
    const reasons = { failed: 'MessagingDeleteFailed', leftBehind: 'MessagingLeftBehind' };
    const subject = { what: `the broker user of ${namespace}/${name} on DatabaseServer ${serverRef}` };
    return releaseUser(this.#options, ms, MESSAGING_FINALIZER, reasons, subject, async (subject) => {
      const server = serverOfEngine(
        this.#options.databaseServers,
        serverRef,
        RABBITMQ.engine,
        RABBITMQ.wrongEngine,
        RABBITMQ.field,
      );
      const user = this.#user(ms);
      subject.what = `user ${user.username} and queues and exchanges ${user.exchange}, ${user.exchange}.* in vhost ${user.vhost} on DatabaseServer ${serverRef}`;
      if (policy === 'Retain') {
        return { type: 'Normal', reason: 'MessagingRetained', message: `${subject.what} kept (reclaimPolicy Retain)` };
      }
      const engine = await this.#engine(server);
      const result = await this.#onServer(server, [], () =>
        engine.dropBrokerUser(user, { owner: `${namespace}/${name}`, purge: true }),
      );
      const deleted = result.deleted ?? { queues: 0, exchanges: 0 };
      return {
        type: 'Normal',
        reason: 'MessagingDeleted',
        message:
          result.actions.length > 0
            ? `${subject.what} deleted (${deleted.queues} queues, ${deleted.exchanges} exchanges)`
            : `${subject.what} were already gone`,
      };
    });
  }

  #user(ms: MicroService): BrokerUser {
    const { name, namespace } = identityOf(ms);
    const messaging = ms.spec.messaging;
    try {
      return computeBrokerUser({
        namespace,
        name,
        vhost: messaging?.vhost ?? ms.status?.messaging?.vhost ?? namespace,
        publishes: messaging?.publishes ?? true,
        subscribesTo: messaging?.subscribesTo ?? [],
        maxConnections: messaging?.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        maxChannels: messaging?.limits?.maxChannels ?? DEFAULT_MAX_CHANNELS,
      });
    } catch (error) {
      if (error instanceof InvalidIdentifierError) {
        throw new ProvisionFailure(MessagingReason.InvalidName, error.message, false);
      }
      throw error;
    }
  }

  async #engine(server: ServerOfEngine): Promise<BrokerEngine> {
    const data = await readAdminSecret(this.#options.client, server, ['username', 'password']);
    const admin = {
      managementUrl: server.managementUrl,
      username: data.username ?? '',
      password: data.password ?? '',
    };
    return (this.#options.engine ?? createRabbitmqEngine)(admin);
  }

  /** Runs engine work; its failures become ProvisionFailures whose messages hold none of `secrets`. */
  async #onServer<T>(server: ServerOfEngine, secrets: string[], work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof OwnershipConflictError) {
        const what = `user ${error.objectName} on DatabaseServer ${server.name}`;
        const message = error.markedOwner
          ? `${what} belongs to MicroService ${error.markedOwner} (it holds the same exchange and queue names)`
          : `${what} exists and was not created by Flotilla; it is left as it is (the DatabaseServer's spec.adoption can allow taking it over)`;
        throw new ProvisionFailure(MessagingReason.NameConflict, message, false);
      }
      if (error instanceof BrokerFailure) {
        throw new ProvisionFailure(error.reason, redact(error.message, secrets), true);
      }
      throw error;
    }
  }

  /** The Secret `<name>-mq`, ours: created with a new password when missing, else brought up to date. */
  async #ensureSecret(ms: MicroService, server: ServerOfEngine, user: BrokerUser) {
    const { client } = this.#options;
    const { name, namespace } = identityOf(ms);
    const secretName = messagingSecretName(name);
    return ensureCredentialsSecret({
      client,
      ms,
      name: secretName,
      build: (password) =>
        buildMessagingSecret(ms, {
          host: server.host,
          port: server.port,
          vhost: user.vhost,
          username: user.username,
          password,
        }) as unknown as KubeObject,
      read: () => client.getIfExists(secretType, secretName, namespace),
      generatePassword,
      ...(this.#options.afterSecretCreated ? { onCreated: this.#options.afterSecretCreated } : {}),
    });
  }
}
