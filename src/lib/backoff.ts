// Exponential backoff without jitter: restarts of one local daemon need no spreading, and tests need exact values.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const RESTART_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2 };

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = RESTART_BACKOFF): number {
  return Math.min(policy.maxMs, Math.round(policy.initialMs * policy.factor ** Math.max(0, attempt)));
}
