// Names, labels and the owner reference that every child of a MicroService carries.
import { API_VERSION } from '../api/common.ts';
import { MICROSERVICE_KIND, type MicroService } from '../api/microservice.ts';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'flotilla';
/** The revision (pod-template hash) of the pods of a Deployment that runs one revision of a service. */
export const REVISION_LABEL = 'flotilla.dev/revision';

/** The cluster DNS domain when the caller does not name one. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

/** The metadata of a child: only what Flotilla owns, for server-side apply. */
export interface ChildMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ownerReferences: OwnerReference[];
}

/** The name and namespace of a MicroService; both are required of any object read from the API. */
export function identityOf(ms: MicroService): { name: string; namespace: string } {
  const { name, namespace } = ms.metadata;
  if (!name || !namespace) {
    throw new Error(`a MicroService needs metadata.name and metadata.namespace (got ${name}/${namespace})`);
  }
  return { name, namespace };
}

/** The labels that select the pods of a service: stable for its whole life (a Deployment selector is immutable). */
export function selectorLabels(name: string): Record<string, string> {
  return { [LABEL_NAME]: name, [LABEL_INSTANCE]: name };
}

/** The labels of every child, and of its pods: the selector labels plus `managed-by: flotilla`. */
export function childLabels(name: string): Record<string, string> {
  return { ...selectorLabels(name), [LABEL_MANAGED_BY]: MANAGED_BY };
}

/** The controller owner reference to the MicroService, so that deleting it deletes its children. */
export function ownerReferenceTo(ms: MicroService): OwnerReference {
  const { name } = identityOf(ms);
  const uid = ms.metadata.uid;
  if (!uid) throw new Error(`MicroService ${name} has no metadata.uid: children need it for their owner reference`);
  return { apiVersion: API_VERSION, kind: MICROSERVICE_KIND, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The metadata of a child named `childName` (the service's own name unless said otherwise). */
export function childMeta(ms: MicroService, childName?: string): ChildMeta {
  const { name, namespace } = identityOf(ms);
  return {
    name: childName ?? name,
    namespace,
    labels: childLabels(name),
    ownerReferences: [ownerReferenceTo(ms)],
  };
}

/** The name under which other pods reach the service: `<name>.<namespace>.svc.<cluster domain>`. */
export function clusterLocalHost(ms: MicroService, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  const { name, namespace } = identityOf(ms);
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/** The Deployment of one revision of a service: `<name>-<revision>`. */
export function revisionName(name: string, revision: string): string {
  return `${name}-${revision}`;
}

/** The Secret that holds the database credentials of a service. */
export function databaseSecretName(name: string): string {
  return `${name}-db`;
}
