import { status } from '@grpc/grpc-js';
import { EtcdStatusError } from './rpctypes.js';

/** An answer with etcd's status and message, for the errors rpctypes.go does not list. */
export function etcdError(code: status, message: string): EtcdStatusError {
  return new EtcdStatusError({ code, message });
}

/**
 * What etcd's Lock and Election servers answer when clientv3/concurrency fails: plain Go
 * errors, which gRPC sends as UNKNOWN with the error's text; clients compare the text.
 */
export const RECIPE_ERRORS = {
  sessionExpired: etcdError(status.UNKNOWN, 'mutex: session is expired'),
  electionNotLeader: etcdError(status.UNKNOWN, 'election: not leader'),
  electionNoLeader: etcdError(status.UNKNOWN, 'election: no leader'),
  missingLeaderKey: etcdError(status.UNKNOWN, '"leader" field must be provided'),
  canceled: etcdError(status.CANCELLED, 'context canceled'),
} as const;

/** An AbortSignal that fires when the client cancels the call (or its deadline passes). */
export function signalOf(call: { on(event: 'cancelled', listener: () => void): unknown }): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort(RECIPE_ERRORS.canceled));
  return controller.signal;
}
