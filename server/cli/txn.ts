/** `cairn txn`: a compare-and-swap transaction in etcdctl's txn syntax (see txn-syntax.ts). */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { TxnRequest, type CompareMessage as Compare, type RequestOp, type ResponseOp, type TxnResponse } from './sdk.js';
import { strictUtf8Text } from './bytes.js';
import { rawCall, withClient } from './client.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { printKv, render, writeLine } from './output.js';
import { parseCompare, parseOp } from './txn-syntax.js';

const PROMPTS = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];

/**
 * The lines of the script: typed on the terminal, or all of stdin, checked to be UTF-8 so
 * that no key or value is stored with U+FFFD in place of bytes that were not.
 */
async function scriptLines(interactive: boolean): Promise<{ lines: AsyncIterable<string> | string[]; close: () => void }> {
  if (interactive) {
    const rl = createInterface({ input: process.stdin, terminal: true, output: process.stdout });
    return { lines: rl, close: () => rl.close() };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const lines = strictUtf8Text(Buffer.concat(chunks), 'the transaction on stdin').split(/\r?\n/);
  // A final line break ends the last line; it does not start an empty one.
  if (lines[lines.length - 1] === '') lines.pop();
  return { lines, close: () => undefined };
}

/** Reads the three sections, each ended by an empty line (or the end of input). */
async function readTxn(interactive: boolean): Promise<TxnRequest> {
  const compares: Compare[] = [];
  const success: RequestOp[] = [];
  const failure: RequestOp[] = [];
  const script = await scriptLines(interactive);
  let section = 0;
  if (interactive) writeLine(PROMPTS[0]);
  try {
    for await (const raw of script.lines) {
      const line = raw.trim();
      if (line === '') {
        section++;
        if (section >= PROMPTS.length) break;
        if (interactive) writeLine(PROMPTS[section]);
        continue;
      }
      if (section === 0) compares.push(parseCompare(line));
      else (section === 1 ? success : failure).push(parseOp(line));
    }
  } finally {
    script.close();
  }
  return TxnRequest.fromPartial({ compare: compares, success, failure });
}

/** Whether any branch writes: such a transaction is retried only when it surely was not applied. */
function writes(request: TxnRequest): boolean {
  return [...request.success, ...request.failure].some((op) => op.request?.$case !== 'requestRange');
}

function printResponseOp(op: ResponseOp, hex: boolean | undefined): void {
  const r = op.response;
  if (!r) return;
  switch (r.$case) {
    case 'responsePut':
      writeLine('OK');
      if (r.responsePut.prevKv) printKv(r.responsePut.prevKv, hex);
      break;
    case 'responseRange':
      for (const kv of r.responseRange.kvs) printKv(kv, hex);
      break;
    case 'responseDeleteRange':
      writeLine(String(r.responseDeleteRange.deleted));
      for (const kv of r.responseDeleteRange.prevKvs) printKv(kv, hex);
      break;
    case 'responseTxn':
      printTxn(r.responseTxn, hex);
      break;
  }
}

/** etcdctl's layout: SUCCESS or FAILURE, then each response after an empty line. */
function printTxn(response: TxnResponse, hex: boolean | undefined): void {
  writeLine(response.succeeded ? 'SUCCESS' : 'FAILURE');
  for (const op of response.responses) {
    writeLine();
    printResponseOp(op, hex);
  }
}

export function registerTxn(program: Command): void {
  const cmd = program
    .command('txn')
    .summary('run a compare-and-swap transaction read from stdin (etcdctl syntax)')
    .description(
      'run a transaction read from stdin (interactively with prompts on a terminal): compares, an empty line, ' +
        'success ops, an empty line, failure ops. Example:\n' +
        '  mod("k") > "0"\n\n  put k v2\n\n  get k\n' +
        'Compares: mod|ver|create|val|lease("key") =|!=|<|> "value". Ops: put k v, get k [end], del k [end], ' +
        'with --prefix, --from-key, --prev-kv, --limit=N, --rev=N, --keys-only, --count-only, --lease=N.',
    );
  addClientOptions(cmd).action(async (flags: ClientFlags) => {
    const request = await readTxn(process.stdin.isTTY === true);
    const response = await withClient(flags, (client) =>
      rawCall<TxnResponse>(client, writes(request) ? 'write' : 'read', (c, cb) =>
        c.member.kv.txn(request, c.metadata, { deadline: c.deadline }, cb),
      ),
    );
    render(flags.output, response, (r) => printTxn(r, flags.hex));
  });
}
