/**
 * `cairn snapshot save|restore|status`: backups of the store, as etcdctl/etcdutl's
 * `snapshot` commands. A backup is what Maintenance.Snapshot streams (see
 * server/mvcc/backup-export.ts): the store at one revision, with a SHA-256 at its end.
 */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ENGINE_NAMES, DEFAULT_NODE_OPTIONS, type EngineName } from '../config.js';
import { syncDirectory } from '../streams/sync-directory.js';
import { withMemberClient } from './client.js';
import { CliError, usageError } from './errors.js';
import { addClientOptions, parseEndpoints, type ClientFlags, type OutputFormat } from './options.js';
import { render, writeLine } from './output.js';
import { formatBytes, ProgressBar } from './progress-bar.js';
import type { SnapshotResponse } from './sdk.js';

interface StreamedSnapshot {
  readonly revision: bigint;
  readonly version: string;
  readonly bytes: number;
}

/**
 * Streams a member's snapshot into an open file. The stream is read only as fast as the
 * file takes it (for await pauses the call, and gRPC's flow control the member).
 */
async function receiveSnapshot(
  flags: ClientFlags,
  endpoint: string,
  write: (blob: Buffer) => Promise<void>,
  progress: ProgressBar,
): Promise<StreamedSnapshot> {
  return withMemberClient(flags, endpoint, (client) =>
    // 'write': once bytes reached the file a retry would append to them; the one member named
    // is the only one to ask anyway. No deadline: a large store streams as long as it takes.
    client.call('write', async (c) => {
      const call = c.member.maintenance.snapshot({}, c.metadata);
      let revision = 0n;
      let version = '';
      let bytes = 0;
      try {
        for await (const response of call as AsyncIterable<SnapshotResponse>) {
          if (response.version !== '') version = response.version;
          if (response.estimatedBytes > 0n) progress.setTotal(Number(response.estimatedBytes));
          if (response.revision > 0n) revision = response.revision;
          await write(response.blob);
          bytes += response.blob.length;
          progress.advance(response.blob.length);
        }
      } finally {
        call.cancel(); // no-op once the stream ended; stops the member's reader otherwise
        progress.finish();
      }
      return { revision, version, bytes };
    }),
  );
}

/** Writes to FILE.part, syncs, checks the file as written, and only then renames it to FILE. */
async function saveSnapshot(file: string, flags: ClientFlags): Promise<void> {
  const endpoints = parseEndpoints(flags.endpoints);
  if (endpoints.length !== 1) {
    throw usageError(`a snapshot is taken from one member: give one --endpoints entry, not ${endpoints.length}`);
  }
  const part = `${file}.part`;
  let streamed: StreamedSnapshot;
  try {
    const handle = await open(part, 'w');
    try {
      streamed = await receiveSnapshot(
        flags,
        endpoints[0]!,
        async (blob) => void (await handle.write(blob)),
        new ProgressBar(`snapshot from ${endpoints[0]!}`),
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const { readBackupFile } = await import('../backup/backup-file.js');
  let summary;
  try {
    summary = await readBackupFile(part);
  } catch (err) {
    await rm(part, { force: true });
    throw new CliError(`the snapshot received from ${endpoints[0]!} failed its check and was not kept: ${(err as Error).message}`);
  }
  if (BigInt(summary.revision) !== streamed.revision) {
    await rm(part, { force: true });
    throw new CliError(`the member said the snapshot holds revision ${streamed.revision}, but the file holds ${summary.revision}`);
  }
  await rename(part, file);
  await syncDirectory(path.dirname(path.resolve(file)));
  render(flags.output, { file, revision: summary.revision, bytes: summary.bytes, sha256: summary.sha256, version: streamed.version }, () =>
    writeLine(
      `saved ${file}: revision ${summary.revision}, ${summary.bytes} bytes (${formatBytes(summary.bytes)}), sha256 ${summary.sha256}`,
    ),
  );
}

interface RestoreFlags {
  dataDir: string;
  name: string;
  address: string;
  engine: EngineName;
  output: OutputFormat;
}

async function restoreSnapshot(file: string, flags: RestoreFlags): Promise<void> {
  const { restoreBackup } = await import('../backup/restore.js');
  const { BackupFileError } = await import('../backup/backup-file.js');
  let result;
  try {
    result = await restoreBackup({ file, dataDir: flags.dataDir, name: flags.name, address: flags.address, engine: flags.engine });
  } catch (err) {
    throw err instanceof BackupFileError ? new CliError(`not restored: ${err.message}`) : err;
  }
  render(flags.output, { ...result, dataDir: flags.dataDir, name: flags.name }, () => {
    writeLine(`restored revision ${result.revision} of ${file} (sha256 ${result.sha256}) into ${flags.dataDir}`);
    writeLine(`new cluster ${result.clusterId}, one member ${flags.name} (id ${result.memberId}); start it with:`);
    const engine = flags.engine === DEFAULT_NODE_OPTIONS.engine ? '' : ` --engine ${flags.engine}`;
    writeLine(`  cairn serve --data-dir ${flags.dataDir} --name ${flags.name} --listen ${flags.address}${engine}`);
  });
}

async function snapshotStatus(file: string, output: OutputFormat): Promise<void> {
  const { backupStatus } = await import('../backup/backup-status.js');
  const { BackupFileError } = await import('../backup/backup-file.js');
  let status;
  try {
    status = await backupStatus(file);
  } catch (err) {
    throw err instanceof BackupFileError ? new CliError(err.message) : err;
  }
  render(output, { file, ...status }, () => {
    writeLine(`revision: ${status.revision}`);
    writeLine(`compacted revision: ${status.compactedRevision}`);
    writeLine(`keys: ${status.keys}`);
    writeLine(`records: ${status.records}`);
    writeLine(`size: ${status.bytes} bytes (${formatBytes(status.bytes)})`);
    writeLine(`sha256: ${status.sha256}`);
  });
}

function hostPort(value: string): string {
  if (!/^[^:\s]+:\d+$/.test(value)) throw usageError(`--address ${value} is not host:port`);
  return value;
}

export function registerSnapshot(program: Command): void {
  const snapshot = program.command('snapshot').description('save a backup of the store, check one, or restore one into a new cluster');
  addClientOptions(
    snapshot
      .command('save')
      .description("stream a consistent copy of one member's store to <file> (written to <file>.part, checked, synced, renamed)")
      .argument('<file>', 'where to write the snapshot'),
  ).action((file: string, flags: ClientFlags) => saveSnapshot(file, flags));
  snapshot
    .command('restore')
    .description('check <file> and make from it the data dir of a new one-member cluster (grow it with `cairn member add`)')
    .argument('<file>', 'a file written by `cairn snapshot save`')
    .requiredOption('--data-dir <dir>', 'the new data dir (must not exist or be empty)')
    .requiredOption('--name <name>', 'name of the restored member (its --name in `cairn serve`)')
    .addOption(new Option('--address <host:port>', 'where the member will serve').argParser(hostPort).default(DEFAULT_NODE_OPTIONS.listen))
    .addOption(
      new Option('--engine <name>', 'storage engine of the new data dir').choices(ENGINE_NAMES).default(DEFAULT_NODE_OPTIONS.engine),
    )
    .addOption(new Option('-o, --output <format>', 'simple, or json').choices(['simple', 'json']).default('simple'))
    .action((file: string, flags: RestoreFlags) => restoreSnapshot(file, flags));
  snapshot
    .command('status')
    .description('check <file> and show its revision, live keys, size and SHA-256')
    .argument('<file>', 'a file written by `cairn snapshot save`')
    .addOption(new Option('-o, --output <format>', 'simple, or json').choices(['simple', 'json']).default('simple'))
    .action((file: string, flags: { output: OutputFormat }) => snapshotStatus(file, flags.output));
}
