// Flotilla's own kinds as the API server serves them, for clients, caches and watches.
import type { ResourceType } from '../kube/objects.ts';
import { GROUP, VERSION } from './common.ts';
import { MICROSERVICE_KIND, MICROSERVICE_PLURAL } from './microservice.ts';
import { ROLLOUT_KIND, ROLLOUT_PLURAL } from './rollout.ts';

export const microServiceType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: MICROSERVICE_KIND,
  plural: MICROSERVICE_PLURAL,
  namespaced: true,
};
export const rolloutType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: ROLLOUT_KIND,
  plural: ROLLOUT_PLURAL,
  namespaced: true,
};
export const databaseServerType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: 'DatabaseServer',
  plural: 'databaseservers',
  namespaced: false,
};
