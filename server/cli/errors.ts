/** Errors the CLI turns into a message on stderr and an exit code. */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { CairnError } from './sdk.js';

/** Exit codes: 1 for failures at run time, 2 for bad usage (flags, arguments, syntax). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure with a message meant for the user as is, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** A gRPC-shaped error raised by the client itself (e.g. no endpoint answered in time). */
export function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

/** Prints the error as the CLI reports it and returns the exit code to use. */
export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`Error: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof CairnError) {
    process.stderr.write(`Error: ${err.codeName}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  if (isServiceError(err)) {
    process.stderr.write(`Error: ${status[err.code] ?? err.code}: ${err.details}\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT_FAILURE;
}
