// Which Temporal client errors mean "Temporal (or a worker) is not there", as opposed to a wrong request.
// gRPC status codes (grpc/grpc doc/statuscodes.md): UNAVAILABLE 14, DEADLINE_EXCEEDED 4; the server answers
// a query nobody polls for with FAILED_PRECONDITION 9 ("no poller seen for task queue recently").
import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import { DependencyUnavailableError } from '../config/unavailable.js';

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_FAILED_PRECONDITION = 9;
/** What grpc-js reports when the call's own deadline or abort signal ended it before an answer came. */
const GRPC_CANCELLED = 1;

/** The gRPC status of the error or of one of its causes. */
export function grpcCodeOf(error: unknown): { code: number; details: string } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (isGrpcServiceError(current)) return { code: current.code, details: current.details };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The error as a DependencyUnavailableError when Temporal or its workers are not there; otherwise undefined. */
export function temporalUnavailable(error: unknown): DependencyUnavailableError | undefined {
  if (error instanceof DependencyUnavailableError) return error;
  const grpc = grpcCodeOf(error);
  if (grpc?.code === GRPC_UNAVAILABLE) return new DependencyUnavailableError('Temporal', `unreachable (${grpc.details})`);
  if (grpc?.code === GRPC_DEADLINE_EXCEEDED || grpc?.code === GRPC_CANCELLED) return new DependencyUnavailableError('Temporal', `no answer within ${TEMPORAL_CALL_DEADLINE_MS / 1000} s (is Temporal up, and a worker polling the task queue?)`);
  if (grpc?.code === GRPC_FAILED_PRECONDITION && /poller/i.test(grpc.details)) return new DependencyUnavailableError('Temporal', `no worker to answer (${grpc.details})`);
  if (error instanceof ServiceError && grpc === undefined && /connect|unavailable|deadline/i.test(error.message)) return new DependencyUnavailableError('Temporal', error.message);
  return undefined;
}

/** How long an API request waits for Temporal before it answers 503 (the client retries within it). */
export const TEMPORAL_CALL_DEADLINE_MS = 10_000;

/**
 * Runs Temporal calls under one deadline (a Temporal that is down would otherwise be retried for long);
 * a Temporal that is down, or no worker to answer, becomes a DependencyUnavailableError.
 */
export async function callTemporal<T>(connection: { withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R> }, run: () => Promise<T>): Promise<T> {
  try {
    return await connection.withDeadline(Date.now() + TEMPORAL_CALL_DEADLINE_MS, run);
  } catch (error) {
    throw temporalUnavailable(error) ?? error;
  }
}
