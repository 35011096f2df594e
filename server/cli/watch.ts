/** `cairn watch <key> [range_end]`: prints changes until interrupted. */
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { Event_EventType, type Event } from '../../gen/ts/cairn/v1/types.js';
import { WatchCreateRequest, WatchCreateRequest_FilterType, type WatchRequest, type WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { clientFromFlags } from './client.js';
import { CliError, isServiceError, serviceError } from './errors.js';
import { keyRange } from './keys.js';
import { addClientOptions, nonNegativeInt, type ClientFlags } from './options.js';
import { printJson, printKv, writeLine } from './output.js';

interface WatchFlags extends ClientFlags {
  prefix?: boolean;
  fromKey?: boolean;
  rev: number;
  prevKv?: boolean;
  progressNotify?: boolean;
  put: boolean;
  delete: boolean;
}

const EVENT_NAMES: Record<number, string> = { [Event_EventType.EVENT_TYPE_PUT]: 'PUT', [Event_EventType.EVENT_TYPE_DELETE]: 'DELETE' };

function printEvent(event: Event, json: boolean): void {
  const type = EVENT_NAMES[event.type] ?? String(event.type);
  if (json) {
    printJson({ type, kv: event.kv, prevKv: event.prevKv });
    return;
  }
  // etcdctl's layout: the type, the previous key-value when asked for, then the key-value.
  writeLine(type);
  if (event.prevKv) printKv(event.prevKv);
  if (event.kv) printKv(event.kv, event.type === Event_EventType.EVENT_TYPE_DELETE);
}

function cancelError(resp: WatchResponse, startRevision: number): CliError {
  if (resp.compactRevision > 0) {
    return new CliError(`watch canceled: revision ${startRevision} was compacted; the oldest available is ${resp.compactRevision}`);
  }
  return new CliError(`watch canceled${resp.cancelReason ? `: ${resp.cancelReason}` : ' by the server'}`);
}

/** Follows one watch until SIGINT/SIGTERM (resolves) or until it fails (rejects). */
function follow(stream: ClientDuplexStream<WatchRequest, WatchResponse>, flags: WatchFlags): Promise<void> {
  const json = flags.output === 'json';
  return new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stop = (err?: Error): void => {
      if (stopping) return;
      stopping = true;
      clearTimeout(createTimer);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      stream.cancel();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onSignal = (): void => stop();
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    // The stream itself has no deadline; only its creation is bounded by --command-timeout.
    const createTimer = setTimeout(
      () => stop(serviceError(status.DEADLINE_EXCEEDED, 'the watch was not created in time')),
      flags.commandTimeout,
    );
    stream.on('data', (resp: WatchResponse) => {
      if (resp.created) clearTimeout(createTimer);
      if (resp.canceled) return stop(cancelError(resp, flags.rev));
      for (const event of resp.events) printEvent(event, json);
      if (!resp.created && resp.events.length === 0 && resp.header) {
        const revision = resp.header.revision;
        if (json) printJson({ type: 'PROGRESS', revision });
        else writeLine(`progress notify: revision ${revision}`);
      }
    });
    stream.on('error', (err) => {
      if (!(isServiceError(err) && err.code === status.CANCELLED && stopping)) stop(err);
    });
    stream.on('end', () => stop(new CliError('watch stream closed by the server')));
  });
}

export function registerWatch(program: Command): void {
  const cmd = program
    .command('watch')
    .description('print changes to a key, range or prefix until interrupted (json: one object per event and line)')
    .argument('<key>', 'key, or first key of the range')
    .argument('[range_end]', 'exclusive end of the range')
    .option('--prefix', 'watch every key that starts with <key>')
    .option('--from-key', 'watch every key >= <key>')
    .addOption(new Option('--rev <revision>', 'replay history from this revision first').argParser(nonNegativeInt).default(0))
    .option('--prev-kv', 'print the previous key-value of each event')
    .option('--progress-notify', 'ask for periodic progress notifications')
    .option('--no-put', 'drop put events')
    .option('--no-delete', 'drop delete events');
  addClientOptions(cmd).action(async (key: string, rangeEnd: string | undefined, flags: WatchFlags) => {
    const filters: WatchCreateRequest_FilterType[] = [];
    if (!flags.put) filters.push(WatchCreateRequest_FilterType.FILTER_TYPE_NOPUT);
    if (!flags.delete) filters.push(WatchCreateRequest_FilterType.FILTER_TYPE_NODELETE);
    const createRequest = WatchCreateRequest.fromPartial({
      ...keyRange(key, rangeEnd, flags),
      startRevision: flags.rev,
      prevKv: flags.prevKv === true,
      progressNotify: flags.progressNotify === true,
      filters,
    });
    const client = clientFromFlags(flags);
    try {
      const watchClient = await client.watchClient();
      const stream = watchClient.watch(await client.callMetadata());
      stream.write({ request: { $case: 'createRequest', createRequest } });
      await follow(stream, flags);
    } finally {
      client.close();
    }
  });
}
