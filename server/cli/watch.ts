/** `cairn watch <key> [range_end]`: prints changes until interrupted. */
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { Event_EventType, type Event } from './sdk.js';
import { WatchCreateRequest, WatchCreateRequest_FilterType, type WatchRequest, type WatchResponse } from './sdk.js';
import { withClient } from './client.js';
import { CliError, isServiceError, serviceError } from './errors.js';
import { keyRange } from './keys.js';
import { addClientOptions, nonNegativeInt, type ClientFlags } from './options.js';
import { formatRevision, printJson, printKv, writeLine } from './output.js';
import type { CairnClient } from './sdk.js';

type WatchStream = ClientDuplexStream<WatchRequest, WatchResponse>;

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

function printEvent(event: Event, json: boolean, hex: boolean | undefined): void {
  const type = EVENT_NAMES[event.type] ?? String(event.type);
  if (json) {
    printJson({ type, kv: event.kv, prevKv: event.prevKv });
    return;
  }
  // etcdctl's layout: the type, the previous key-value when asked for, then the key-value.
  writeLine(type);
  if (event.prevKv) printKv(event.prevKv, hex);
  if (event.kv) printKv(event.kv, hex, event.type === Event_EventType.EVENT_TYPE_DELETE);
}

function cancelError(resp: WatchResponse, startRevision: number): CliError {
  if (resp.compactRevision > 0) {
    return new CliError(
      `watch canceled: revision ${formatRevision(startRevision)} was compacted; the oldest available is ${formatRevision(resp.compactRevision)}`,
    );
  }
  return new CliError(`watch canceled${resp.cancelReason ? `: ${resp.cancelReason}` : ' by the server'}`);
}

/**
 * Opens the watch on a member through the SDK (its failover, retries, token and the
 * --command-timeout deadline bound the creation) and resolves with the stream, paused,
 * once the server says the watch is created. The stream itself has no deadline.
 */
function createWatch(client: CairnClient, createRequest: WatchCreateRequest, startRevision: number): Promise<WatchStream> {
  return client.call(
    'read',
    (c) =>
      new Promise<WatchStream>((resolve, reject) => {
        const stream = c.member.watch.watch(c.metadata);
        const settle = (err: Error | undefined): void => {
          clearTimeout(timer);
          stream.removeListener('data', onData).removeListener('error', settle).removeListener('end', onEnd);
          if (err === undefined) return resolve(stream);
          stream.cancel();
          reject(err);
        };
        const onData = (resp: WatchResponse): void => {
          if (resp.canceled) return settle(cancelError(resp, startRevision));
          if (!resp.created) return;
          // Nothing may be lost between this listener and follow()'s: hold the stream still.
          stream.pause();
          settle(undefined);
        };
        const onEnd = (): void => settle(serviceError(status.UNAVAILABLE, 'watch stream closed by the server'));
        const timer = setTimeout(
          () => settle(serviceError(status.DEADLINE_EXCEEDED, 'the watch was not created in time')),
          Math.max(0, c.deadline.getTime() - Date.now()),
        );
        stream.on('data', onData).on('error', settle).on('end', onEnd);
        stream.write({ request: { $case: 'createRequest', createRequest } });
      }),
  );
}

/** Follows a created watch until SIGINT/SIGTERM (resolves) or until it fails (rejects). */
function follow(stream: WatchStream, flags: WatchFlags): Promise<void> {
  const json = flags.output === 'json';
  return new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stop = (err?: Error): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      stream.cancel();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onSignal = (): void => stop();
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    stream.on('data', (resp: WatchResponse) => {
      if (resp.canceled) return stop(cancelError(resp, flags.rev));
      for (const event of resp.events) printEvent(event, json, flags.hex);
      if (!resp.created && resp.events.length === 0 && resp.header) {
        const revision = resp.header.revision;
        if (json) printJson({ type: 'PROGRESS', revision });
        else writeLine(`progress notify: revision ${formatRevision(revision)}`);
      }
    });
    stream.on('error', (err) => {
      if (!(isServiceError(err) && err.code === status.CANCELLED && stopping)) stop(err);
    });
    stream.on('end', () => stop(new CliError('watch stream closed by the server')));
    stream.resume();
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
    await withClient(flags, async (client) => follow(await createWatch(client, createRequest, flags.rev), flags));
  });
}
