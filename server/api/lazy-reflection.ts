import type { Server, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { invariant } from '../invariant.js';

type RegisteredServices = Map<string, { definition: ServiceDefinition; implementation: UntypedServiceImplementation }>;

/**
 * Registers gRPC server reflection (v1 and v1alpha) on `server`, describing the package that
 * `describe` returns, but builds the reflection index only when the first reflection call
 * arrives.
 *
 * Why: `new ReflectionService(...)` indexes and re-encodes every file descriptor twice (once
 * per protocol version): 200–300 ms of synchronous CPU for Cairn's and etcd's protos on a
 * quiet machine, and 2–3 MiB of heap, at every member start. A member seldom serves
 * reflection (grpcurl does), and a process hosting many members (the in-process test
 * suites start 32 at once) had its event loop blocked for seconds in a row by those
 * constructors, long enough for its other members' requests to time out.
 */
export function addLazyReflection(server: Pick<Server, 'addService'>, describe: () => PackageDefinition): void {
  let built: RegisteredServices | undefined;
  const real = (): RegisteredServices => (built ??= servicesOf(new ReflectionService(describe())));
  for (const [name, { definition, implementation }] of reflectionShapes()) {
    const lazy: UntypedServiceImplementation = {};
    for (const method of Object.keys(implementation)) {
      lazy[method] = ((call: unknown) => {
        const handler = real().get(name)?.implementation[method] as ((call: unknown) => void) | undefined;
        invariant(handler !== undefined, `reflection registers ${name}/${method} with every package`);
        handler(call);
      }) as UntypedHandleCall;
    }
    server.addService(definition, lazy);
  }
}

/** The services (names, method definitions) reflection registers: the same for every package. */
let shapes: RegisteredServices | undefined;
function reflectionShapes(): RegisteredServices {
  shapes ??= servicesOf(new ReflectionService({}));
  return shapes;
}

/** What `reflection.addToServer` registers, by service name. */
function servicesOf(reflection: ReflectionService): RegisteredServices {
  const services: RegisteredServices = new Map();
  reflection.addToServer({
    addService: (definition: ServiceDefinition, implementation: UntypedServiceImplementation) => {
      services.set(serviceName(definition), { definition, implementation });
    },
  });
  return services;
}

function serviceName(definition: ServiceDefinition): string {
  const [method] = Object.values(definition);
  invariant(method !== undefined, 'a reflection service has methods');
  return method.path.split('/')[1] ?? method.path;
}
