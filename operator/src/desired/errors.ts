// A spec that the CRD schema accepts but that cannot be turned into working children. The
// reconciler reports it as Degraded with `reason`; other services are not affected.

export class InvalidSpecError extends Error {
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.name = 'InvalidSpecError';
    this.reason = reason;
  }
}

/** Reasons for InvalidSpecError, CamelCase as condition reasons must be. */
export const InvalidSpecReason = {
  UnknownProbePort: 'UnknownProbePort',
  DuplicateTargetPort: 'DuplicateTargetPort',
  UnknownExposePort: 'UnknownExposePort',
  UnknownFile: 'UnknownFile',
} as const;
