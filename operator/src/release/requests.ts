// The one-shot requests of a Rollout's spec (promote, abort, retry), as its status accepts them:
// what is accepted and what is cleared from the spec. Pure; controllers/microservice/rollout-status.ts
// does the writes.
import type { RolloutSpec, RolloutStatus } from '../api/rollout.ts';
import { type RequestName, type RolloutRequests, requestsOf } from '../strategy/index.ts';

export type AcceptedRequest = NonNullable<RolloutStatus['acceptedRequest']>;

/** The requests of an accepted record, without its generation. */
export function requestsIn(accepted: AcceptedRequest | undefined): RolloutRequests {
  const { generation: _generation, ...requests } = accepted ?? {};
  return requests;
}

/**
 * What intake does with the spec's requests, given what the status already accepted: the requests
 * to accept now (none while others wait to be carried out), and the fields to clear (those whose
 * value is the accepted one). Pure.
 */
export function planIntake(
  spec: RolloutSpec,
  accepted: AcceptedRequest | undefined,
): { accept?: RolloutRequests; clear: RequestName[] } {
  const requests = requestsOf(spec);
  const names = Object.keys(requests) as RequestName[];
  if (names.length === 0) return { clear: [] };
  if (!accepted) return { accept: requests, clear: names };
  const waiting = requestsIn(accepted);
  return { clear: names.filter((name) => waiting[name] !== undefined && waiting[name] === requests[name]) };
}
