/** `cairn defrag`: compacts members' engine files, giving the space of deleted keys back. */
import type { Command } from 'commander';
import { rawCall, withClient, withMemberClient } from './client.js';
import { addClientOptions, parseEndpoints, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { formatBytes } from './progress-bar.js';
import type { DefragmentResponse } from './sdk.js';

interface DefragFlags extends ClientFlags {
  cluster?: boolean;
}

interface DefragReport {
  endpoint: string;
  response?: DefragmentResponse;
  error?: string;
}

/** A deadline far above the command's: compacting a large store takes as long as the disk needs. */
const DEFRAGMENT_TIMEOUT_MS = 60 * 60 * 1000;

async function defragment(flags: ClientFlags, endpoint: string): Promise<DefragReport> {
  try {
    const response = await withMemberClient(flags, endpoint, (client) =>
      rawCall<DefragmentResponse>(
        client,
        'read', // compacting twice is harmless
        (c, cb) => c.member.maintenance.defragment({}, c.metadata, { deadline: c.deadline }, cb),
        { timeoutMs: DEFRAGMENT_TIMEOUT_MS },
      ),
    );
    return { endpoint, response };
  } catch (err) {
    return { endpoint, error: err instanceof Error ? err.message : String(err) };
  }
}

export function registerDefrag(program: Command): void {
  const cmd = program
    .command('defrag')
    .description("compact each endpoint's engine files (one after another), giving the space of deleted keys back to the disk")
    .option('--cluster', 'defragment every member of the cluster, not only the --endpoints');
  addClientOptions(cmd).action(async (flags: DefragFlags) => {
    let endpoints = parseEndpoints(flags.endpoints);
    if (flags.cluster === true) endpoints = (await withClient(flags, (c) => c.memberList())).map((m) => m.address);
    // One at a time, as etcd advises: a member defragmenting is slower to answer, and on
    // RocksDB holds its writes back until its copy is in place.
    const reports: DefragReport[] = [];
    for (const endpoint of endpoints) reports.push(await defragment(flags, endpoint));
    render(flags.output, { members: reports }, () => {
      for (const { endpoint, response, error } of reports) {
        if (response === undefined) writeLine(`failed to defragment ${endpoint}: ${error ?? ''}`);
        else
          writeLine(
            `defragmented ${endpoint}: ${formatBytes(Number(response.dbSizeBefore))} -> ${formatBytes(Number(response.dbSizeAfter))} ` +
              `in ${response.durationMs} ms (writes held back ${response.writePauseMs} ms)`,
          );
      }
    });
    if (reports.some((r) => r.error !== undefined)) process.exitCode = 1;
  });
}
