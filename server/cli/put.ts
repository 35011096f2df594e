/** `cairn put <key> [value]`: sets a key. */
import { Option, type Command } from 'commander';
import { argBytes } from './bytes.js';
import { withClient } from './client.js';
import { usageError } from './errors.js';
import { parseLeaseId } from './lease-id.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { printKv, render, writeLine } from './output.js';

interface PutFlags extends ClientFlags {
  prevKv?: boolean;
  lease?: number;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function registerPut(program: Command): void {
  const cmd = program
    .command('put')
    .description('set a key; without a value argument the value is read from stdin, byte for byte')
    .argument('<key>', 'key to set')
    .argument('[value]', 'value to store (default: stdin)')
    .option('--prev-kv', 'also print the previous key-value')
    .addOption(
      new Option('--lease <id>', 'attach the key to this lease (hex id, as `cairn lease grant` prints it)').argParser(parseLeaseId),
    );
  addClientOptions(cmd).action(async (key: string, value: string | undefined, flags: PutFlags) => {
    const k = argBytes(key, flags.hex, 'key');
    if (k.length === 0) throw usageError('the key must not be empty');
    // stdin is taken byte for byte, --hex or not: it is the way to give any bytes.
    const v = value === undefined ? await readStdin() : argBytes(value, flags.hex, 'value');
    const r = await withClient(flags, (client) => client.put(k, v, { lease: flags.lease ?? 0, prevKv: flags.prevKv === true }));
    render(flags.output, { header: r.header, ...(r.prevKv === undefined ? {} : { prevKv: r.prevKv }) }, () => {
      writeLine('OK');
      if (r.prevKv) printKv(r.prevKv, flags.hex);
    });
  });
}
