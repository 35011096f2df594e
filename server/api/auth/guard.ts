import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invariant } from '../../invariant.js';
import { toServiceError } from '../errors.js';
import { ACCESS_RULES } from './access-rules.js';
import type { Authorizer, ServerCall } from './authorizer.js';

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
type GuardedCall = ServerCall & { request?: unknown };
type StreamCall = GuardedCall & { emit(event: 'error', err: unknown): boolean };
type StreamHandler = (call: StreamCall) => void;

/**
 * Puts the access check in front of every method of a service, in one place: each method
 * is looked up in ACCESS_RULES by its path, and a method without a row stops the member
 * at start. Unary calls are checked before the handler runs; a stream's caller is checked
 * when it opens (the watch stream then checks each create through the same Authorizer).
 */
export function guardService<Impl extends object>(
  definition: ServiceDefinition,
  impl: Impl,
  authorizer: Authorizer,
  /** How a refusal reaches the client: Cairn's table, or etcd's for the etcd-compatible API. */
  toError: (err: unknown) => Partial<ServiceError> = toServiceError,
): Impl {
  const guarded: Record<string, unknown> = {};
  const handlers = impl as unknown as UntypedServiceImplementation;
  for (const [name, method] of Object.entries(definition)) {
    const rule = ACCESS_RULES[method.path];
    invariant(rule !== undefined, () => `method ${method.path} has no access rule (server/api/auth/access-rules.ts)`);
    const handler = handlers[name];
    invariant(handler !== undefined, () => `service has no handler for ${method.path}`);
    // A server stream has its one request at hand when it opens; a client stream has none.
    invariant(
      rule.kind !== 'keys' || !method.requestStream,
      () => `client-streaming method ${method.path} cannot have a per-request key rule`,
    );
    const fresh = rule.kind === 'keys' ? rule.afterReadBarrier : undefined;
    /** Checks the caller (after the read barrier when the rule asks), then runs `proceed` or `refuse`s. */
    const guard = (call: GuardedCall, proceed: () => void, refuse: (err: unknown) => void): void => {
      const check = (): void => {
        try {
          authorizer.authorize(rule, method.requestStream ? undefined : call.request, { metadata: call.metadata, call });
        } catch (err) {
          refuse(err);
          return;
        }
        proceed();
      };
      if (fresh !== undefined && authorizer.enabled && fresh(call.request as never)) authorizer.readBarrier().then(check, refuse);
      else check();
    };
    if (!method.requestStream && !method.responseStream) {
      const unary = handler as unknown as UnaryHandler;
      guarded[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
        // While authentication is off, authorize() lets every call through and no rule asks
        // for the read barrier: skip the three closures guard() would allocate per request.
        if (!authorizer.enabled) {
          unary(call, callback);
          return;
        }
        guard(
          call,
          () => unary(call, callback),
          (err) => callback(toError(err), null),
        );
      };
    } else {
      const stream = handler as unknown as StreamHandler;
      guarded[name] = (call: StreamCall): void =>
        guard(
          call,
          () => stream(call),
          (err) => call.emit('error', toError(err)),
        );
    }
  }
  return guarded as Impl;
}
