/** `cairn defrag`: compacts members' engine files, giving the space of deleted keys back. */
import type { Metadata } from '@grpc/grpc-js';
import { type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { MaintenanceServiceClient, type DefragmentResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { withClient } from './client.js';
import { addClientOptions, parseEndpoints, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { formatBytes } from './progress-bar.js';
import { call, memberList } from './status.js';
import { clientCredentials } from './tls.js';

interface DefragFlags extends ClientFlags {
  cluster?: boolean;
}

interface DefragReport {
  endpoint: string;
  response?: DefragmentResponse;
  error?: string;
}

/** No deadline of the command's: compacting a large store takes as long as the disk needs. */
async function defragment(endpoint: string, creds: ChannelCredentials, metadata: Metadata): Promise<DefragReport> {
  const client = new MaintenanceServiceClient(endpoint, creds);
  try {
    return { endpoint, response: await call<DefragmentResponse>((cb) => client.defragment({}, metadata, cb)) };
  } catch (err) {
    return { endpoint, error: (err as ServiceError).details ?? String(err) };
  } finally {
    client.close();
  }
}

export function registerDefrag(program: Command): void {
  const cmd = program
    .command('defrag')
    .description("compact each endpoint's engine files (one after another), giving the space of deleted keys back to the disk")
    .option('--cluster', 'defragment every member of the cluster, not only the --endpoints');
  addClientOptions(cmd).action(async (flags: DefragFlags) => {
    const creds = clientCredentials(flags);
    let endpoints = parseEndpoints(flags.endpoints);
    if (flags.cluster === true) endpoints = (await memberList(endpoints, flags.commandTimeout, creds)).members.map((m) => m.address);
    const metadata = await withClient(flags, (c) => c.callMetadata());
    // One at a time, as etcd advises: a member compacting is slower to answer.
    const reports: DefragReport[] = [];
    for (const endpoint of endpoints) reports.push(await defragment(endpoint, creds, metadata));
    render(flags.output, { members: reports }, () => {
      for (const { endpoint, response, error } of reports) {
        if (response === undefined) writeLine(`failed to defragment ${endpoint}: ${error ?? ''}`);
        else
          writeLine(
            `defragmented ${endpoint}: ${formatBytes(response.dbSizeBefore)} -> ${formatBytes(response.dbSizeAfter)} in ${response.durationMs} ms`,
          );
      }
    });
    if (reports.some((r) => r.error !== undefined)) process.exitCode = 1;
  });
}
