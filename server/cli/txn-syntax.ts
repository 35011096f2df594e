/**
 * Parser for etcdctl's txn syntax.
 * Compares: `mod("k") > "0"`, `val("k") = "v"`, `ver("k") < "3"`, `create("k") = "0"`,
 * `lease("k") != "0"`; operators =, !=, <, >.
 * Operations: `put k v`, `get k [end]`, `del k [end]`, with the flags --prefix, --from-key,
 * --prev-kv, and for get --limit=N, --rev=N, --keys-only, --count-only, --serializable;
 * for put --lease=N. Arguments may be double-quoted with \" \\ \n \t escapes.
 */
import {
  CompareMessage as Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  type RequestOp,
} from './sdk.js';
import { usageError } from './errors.js';
import { keyRange } from './keys.js';

const TARGETS: Record<string, Compare_CompareTarget> = {
  ver: Compare_CompareTarget.COMPARE_TARGET_VERSION,
  version: Compare_CompareTarget.COMPARE_TARGET_VERSION,
  c: Compare_CompareTarget.COMPARE_TARGET_CREATE,
  create: Compare_CompareTarget.COMPARE_TARGET_CREATE,
  m: Compare_CompareTarget.COMPARE_TARGET_MOD,
  mod: Compare_CompareTarget.COMPARE_TARGET_MOD,
  val: Compare_CompareTarget.COMPARE_TARGET_VALUE,
  value: Compare_CompareTarget.COMPARE_TARGET_VALUE,
  lease: Compare_CompareTarget.COMPARE_TARGET_LEASE,
};

const RESULTS: Record<string, Compare_CompareResult> = {
  '=': Compare_CompareResult.COMPARE_RESULT_EQUAL,
  '==': Compare_CompareResult.COMPARE_RESULT_EQUAL,
  '!=': Compare_CompareResult.COMPARE_RESULT_NOT_EQUAL,
  '<': Compare_CompareResult.COMPARE_RESULT_LESS,
  '>': Compare_CompareResult.COMPARE_RESULT_GREATER,
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '"': '"', '\\': '\\' };

/** Splits a line into words; double quotes group and escape, as in a shell. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (/\s/.test(line[i]!)) {
      i++;
      continue;
    }
    let word = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      if (line[i] !== '"') {
        word += line[i++];
        continue;
      }
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) {
          const c = line[i + 1]!;
          word += ESCAPES[c] ?? c;
          i += 2;
        } else word += line[i++];
      }
      if (i >= line.length) throw usageError(`unterminated quote in: ${line}`);
      i++;
    }
    words.push(word);
  }
  return words;
}

function integer(text: string, what: string, line: string): number {
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw usageError(`${what} must be an integer in: ${line}`);
  }
  return Number(text);
}

const COMPARE_RE = /^\s*([a-z]+)\s*\(\s*("(?:[^"\\]|\\.)*"|[^\s)]+)\s*\)\s*(==|=|!=|<|>)\s*(.+?)\s*$/;

export function parseCompare(line: string): Compare {
  const match = COMPARE_RE.exec(line);
  if (!match) throw usageError(`invalid compare (expected e.g. mod("key") > "0"): ${line}`);
  const [, targetName, keyText, op, valueText] = match as unknown as [string, string, string, string, string];
  const target = TARGETS[targetName];
  if (target === undefined) throw usageError(`unknown compare target '${targetName}' in: ${line}`);
  const [key] = tokenize(keyText);
  const values = tokenize(valueText);
  if (key === undefined || key === '' || values.length !== 1) throw usageError(`invalid compare: ${line}`);
  const value = values[0]!;
  const base = { key: Buffer.from(key, 'utf8'), target, result: RESULTS[op]! };
  switch (target) {
    case Compare_CompareTarget.COMPARE_TARGET_VALUE:
      return Compare.fromPartial({ ...base, targetUnion: { $case: 'value', value: Buffer.from(value, 'utf8') } });
    case Compare_CompareTarget.COMPARE_TARGET_VERSION:
      return Compare.fromPartial({ ...base, targetUnion: { $case: 'version', version: integer(value, 'version', line) } });
    case Compare_CompareTarget.COMPARE_TARGET_CREATE:
      return Compare.fromPartial({
        ...base,
        targetUnion: { $case: 'createRevision', createRevision: integer(value, 'create revision', line) },
      });
    case Compare_CompareTarget.COMPARE_TARGET_MOD:
      return Compare.fromPartial({
        ...base,
        targetUnion: { $case: 'modRevision', modRevision: integer(value, 'mod revision', line) },
      });
    default:
      return Compare.fromPartial({ ...base, targetUnion: { $case: 'lease', lease: integer(value, 'lease', line) } });
  }
}

const BOOLEAN_FLAGS = new Set(['prefix', 'from-key', 'prev-kv', 'keys-only', 'count-only', 'serializable']);
const VALUE_FLAGS = new Set(['limit', 'rev', 'lease']);

interface OpWords {
  verb: string;
  args: string[];
  flags: Map<string, string | true>;
}

function splitOp(line: string): OpWords {
  const [verb = '', ...rest] = tokenize(line);
  const args: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (!word.startsWith('--')) {
      args.push(word);
      continue;
    }
    const [name = '', inline] = word.slice(2).split(/=(.*)/s, 2);
    if (BOOLEAN_FLAGS.has(name) && inline === undefined) flags.set(name, true);
    else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? rest[++i];
      if (value === undefined) throw usageError(`flag --${name} needs a value in: ${line}`);
      flags.set(name, value);
    } else throw usageError(`unknown flag --${name} in: ${line}`);
  }
  return { verb, args, flags };
}

export function parseOp(line: string): RequestOp {
  const { verb, args, flags } = splitOp(line);
  const allowed: Record<string, string[]> = {
    put: ['prev-kv', 'lease'],
    get: ['prefix', 'from-key', 'limit', 'rev', 'keys-only', 'count-only', 'serializable'],
    del: ['prefix', 'from-key', 'prev-kv'],
  };
  const verbFlags = allowed[verb === 'delete' ? 'del' : verb];
  if (!verbFlags) throw usageError(`unknown operation '${verb}' (expected put, get or del): ${line}`);
  for (const name of flags.keys()) {
    if (!verbFlags.includes(name)) throw usageError(`flag --${name} does not apply to ${verb}: ${line}`);
  }
  const num = (name: string): number => {
    const v = flags.get(name);
    return typeof v === 'string' ? integer(v, `--${name}`, line) : 0;
  };
  const range = (): { key: Buffer; rangeEnd: Buffer } => {
    if (args.length < 1 || args.length > 2) throw usageError(`${verb} takes <key> [range_end]: ${line}`);
    return keyRange(args[0]!, args[1], { prefix: flags.has('prefix'), fromKey: flags.has('from-key') });
  };
  if (verb === 'put') {
    if (args.length !== 2 || args[0] === '') throw usageError(`put takes <key> <value>: ${line}`);
    const requestPut = PutRequest.fromPartial({
      key: Buffer.from(args[0]!, 'utf8'),
      value: Buffer.from(args[1]!, 'utf8'),
      prevKv: flags.has('prev-kv'),
      lease: num('lease'),
    });
    return { request: { $case: 'requestPut', requestPut } };
  }
  if (verb === 'get') {
    const requestRange = RangeRequest.fromPartial({
      ...range(),
      limit: num('limit'),
      revision: num('rev'),
      keysOnly: flags.has('keys-only'),
      countOnly: flags.has('count-only'),
      serializable: flags.has('serializable'),
    });
    return { request: { $case: 'requestRange', requestRange } };
  }
  const requestDeleteRange = DeleteRangeRequest.fromPartial({ ...range(), prevKv: flags.has('prev-kv') });
  return { request: { $case: 'requestDeleteRange', requestDeleteRange } };
}
