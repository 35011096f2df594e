import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invariant } from '../../invariant.js';
import { toServiceError } from '../errors.js';
import { ACCESS_RULES } from './access-rules.js';
import type { Authorizer, ServerCall } from './authorizer.js';

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
type StreamCall = ServerCall & { emit(event: 'error', err: unknown): boolean; request?: unknown };
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
  /** How a refusal reaches the client: Cairn's status, or etcd's for etcd's services. */
  toError: (err: unknown) => Partial<ServiceError> = toServiceError,
): Impl {
  const guarded: Record<string, unknown> = {};
  const handlers = impl as unknown as UntypedServiceImplementation;
  for (const [name, method] of Object.entries(definition)) {
    const rule = ACCESS_RULES[method.path];
    invariant(rule !== undefined, () => `method ${method.path} has no access rule (server/api/auth/access-rules.ts)`);
    const handler = handlers[name];
    invariant(handler !== undefined, () => `service has no handler for ${method.path}`);
    if (!method.requestStream && !method.responseStream) {
      const unary = handler as unknown as UnaryHandler;
      const fresh = rule.kind === 'keys' ? rule.afterReadBarrier : undefined;
      const check = (call: ServerUnaryCall<unknown, unknown>): void =>
        authorizer.authorize(rule, call.request, { metadata: call.metadata, call });
      guarded[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
        if (fresh !== undefined && authorizer.enabled && fresh(call.request as never)) {
          authorizer.readBarrier().then(
            () => {
              try {
                check(call);
              } catch (err) {
                callback(toError(err), null);
                return;
              }
              unary(call, callback);
            },
            (err: unknown) => callback(toError(err), null),
          );
          return;
        }
        try {
          check(call);
        } catch (err) {
          callback(toError(err), null);
          return;
        }
        unary(call, callback);
      };
    } else {
      // A server stream has its one request at hand when it opens; a client stream has none.
      invariant(
        rule.kind !== 'keys' || !method.requestStream,
        () => `client-streaming method ${method.path} cannot have a per-request key rule`,
      );
      const stream = handler as unknown as StreamHandler;
      guarded[name] = (call: StreamCall): void => {
        try {
          authorizer.authorize(rule, method.requestStream ? undefined : call.request, { metadata: call.metadata, call });
        } catch (err) {
          call.emit('error', toError(err));
          return;
        }
        stream(call);
      };
    }
  }
  return guarded as Impl;
}
