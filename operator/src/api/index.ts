// The Flotilla API (flotilla.dev/v1alpha1): schemas, static types, CRDs and validation.
export * from './analysis.ts';
export * from './common.ts';
export * from './crd.ts';
export * from './databaseserver.ts';
export * from './microservice.ts';
export * from './resource-types.ts';
export * from './rollout.ts';
export * from './validate.ts';
