/** `cairn bench put|range`: measures throughput and latency against a node. */
import { Argument, Option, type Command } from 'commander';
import { withClient } from './client.js';
import { CliError, usageError } from './errors.js';
import { addClientOptions, durationMs, positiveInt, type ClientFlags } from './options.js';
import { printJson, writeLine } from './output.js';
import { runBench, type BenchOp, type BenchResult } from './bench-runner.js';

interface BenchFlags extends ClientFlags {
  clients: number;
  connections: number;
  total?: number;
  duration?: number;
  valueSize: number;
  keySpace: number;
  serializable?: boolean;
}

const DEFAULT_TOTAL = 10_000;

function printSimple(r: BenchResult, valueSize: number): void {
  const l = r.latencyMs;
  const what = r.op === 'put' ? `${valueSize}-byte values` : 'single-key reads';
  writeLine(`bench ${r.op}: ${r.requests} requests in ${r.seconds} s (${r.clients} clients, ${r.connections} connections, ${what})`);
  writeLine(`throughput: ${r.opsPerSec} ops/s`);
  writeLine(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  mean ${l.mean}`);
  writeLine(`errors: ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ''}`);
}

export function registerBench(program: Command): void {
  const cmd = program
    .command('bench')
    .description(`load a node with puts or single-key ranges and report throughput and latency (default --total ${DEFAULT_TOTAL})`)
    .addArgument(new Argument('<op>', 'what to measure').choices(['put', 'range']))
    .addOption(new Option('--clients <n>', 'concurrent callers').argParser(positiveInt).default(64))
    .addOption(new Option('--connections <n>', 'gRPC connections shared by the callers').argParser(positiveInt).default(8))
    .addOption(new Option('--total <n>', 'number of requests').argParser(positiveInt))
    .addOption(new Option('--duration <duration>', 'run time, e.g. 20s (with --total: whichever ends first)').argParser(durationMs))
    .addOption(new Option('--value-size <bytes>', 'size of put values').argParser(positiveInt).default(256))
    .addOption(new Option('--key-space <n>', 'number of distinct keys').argParser(positiveInt).default(100_000))
    .option('--serializable', 'range: serializable reads instead of linearizable ones');
  addClientOptions(cmd).action(async (op: BenchOp, flags: BenchFlags) => {
    if (flags.serializable && op !== 'range') throw usageError('--serializable applies to bench range only');
    // Find the first endpoint that answers; the benchmark then opens its own connections to it.
    const endpoint = await withClient(flags, async (client) => {
      await client.members();
      return client.activeEndpoint;
    });
    const total = flags.total ?? (flags.duration === undefined ? DEFAULT_TOTAL : undefined);
    const result = await runBench({
      op,
      endpoint,
      clients: flags.clients,
      connections: flags.connections,
      ...(total === undefined ? {} : { total }),
      ...(flags.duration === undefined ? {} : { durationMs: flags.duration }),
      valueSize: flags.valueSize,
      keySpace: flags.keySpace,
      serializable: flags.serializable === true,
      commandTimeoutMs: flags.commandTimeout,
      dialTimeoutMs: flags.dialTimeout,
    });
    if (flags.output === 'json') printJson(result);
    // The simple output leaves out the encoded histogram; JSON keeps it for merging.
    else printSimple(result, flags.valueSize);
    if (result.errors > 0) throw new CliError(`${result.errors} of ${result.requests} requests failed`);
  });
}
