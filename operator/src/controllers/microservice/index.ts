// The MicroService reconciler: gather → plan (pure) → apply (server-side) → syncStatus.

export { type Condition, ConditionType, computeConditions, EventReason, Reason } from '../../release/conditions.ts';
export { computeDrift, DESIRED_HASH_ANNOTATION, isContainedIn } from '../../release/drift.ts';
export {
  computeDeploymentHealth,
  planPlainWorkload,
  type WorkloadInput,
  type WorkloadPlan,
  type WorkloadPlanner,
} from '../../release/workloads.ts';
export { WriteTracker } from '../../runtime/write-tracker.ts';
export { discoverRouters } from '../../traffic/index.ts';
export { type ApplyOutcome, applyPlan } from './apply.ts';
export {
  createMicroServiceController,
  MicroServiceController,
  type MicroServiceControllerOptions,
} from './controller.ts';
export { gather, type Observed } from './gather.ts';
export { type ChildApply, childId, type Plan, type PlanInput, plan, withApplyFailures } from './plan.ts';
export { ChildWriteError, createMicroServiceReconciler } from './reconcile.ts';
export * from './resources.ts';
