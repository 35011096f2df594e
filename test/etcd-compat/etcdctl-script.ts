/**
 * Issue 17's etcdctl command list, as steps run in order against one cluster: put/get/del
 * with prefixes, revisions, limits and output formats, and by RangeStream (get --stream);
 * txn in interactive syntax; a bounded watch from a revision with prev-kv; leases; lock;
 * elect; member list; endpoint status/health; compaction; users, roles and auth; snapshot save. Each step returns what a
 * user sees, normalised (normalise.ts), so the same list run against etcd and against Cairn
 * gives equal text step by step where Cairn behaves as etcd.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcdctl } from './etcd-tools.js';
import { runEtcdctl, visible, type EtcdctlOptions, type EtcdctlResult } from './etcdctl-run.js';
import { Normaliser } from './normalise.js';

export interface ScriptContext {
  readonly ctl: Etcdctl;
  readonly endpoints: readonly string[];
  /** Keys of one run live under it, so runs of both etcdctl builds share a cluster. */
  readonly prefix: string;
  readonly n: Normaliser;
  /** Values later steps need: revisions, lease ids. */
  readonly vars: Map<string, string>;
  readonly dir: string;
}

export interface Step {
  readonly name: string;
  run(ctx: ScriptContext): Promise<string>;
}

function ctl(ctx: ScriptContext, args: readonly string[], options?: EtcdctlOptions): Promise<EtcdctlResult> {
  return runEtcdctl(ctx.ctl, ctx.endpoints, args, options);
}

function need(ctx: ScriptContext, name: string): string {
  const value = ctx.vars.get(name);
  if (value === undefined) throw new Error(`an earlier step did not record ${name}`);
  return value;
}

/** The header revision of a -w json answer (uint64 as text). */
function headerRevision(stdout: string): string {
  const match = /"revision":(\d+)/.exec(stdout);
  if (match === null) throw new Error(`no header revision in ${stdout}`);
  return match[1]!;
}

/** A plain command; its output normalised for machine-dependent sizes and durations. */
function simple(name: string, args: (ctx: ScriptContext) => string[], rewrite?: (text: string, ctx: ScriptContext) => string): Step {
  return {
    name,
    async run(ctx) {
      const text = Normaliser.machine(ctx.n.addresses(visible(await ctl(ctx, args(ctx)))));
      return rewrite === undefined ? text : rewrite(text, ctx);
    },
  };
}

/** A -w json command, each field normalised by meaning. */
function json(name: string, args: (ctx: ScriptContext) => string[], record?: (stdout: string, ctx: ScriptContext) => void): Step {
  return {
    name,
    async run(ctx) {
      const result = await ctl(ctx, [...args(ctx), '-w', 'json']);
      if (result.code === 0) record?.(result.stdout, ctx);
      return visible({ ...result, stdout: result.code === 0 ? ctx.n.json(result.stdout) : result.stdout });
    },
  };
}

/** Hex lease ids (alone on a line in lease list) and lock/election keys that end in one, as etcdctl prints them. */
function leaseIds(text: string, ctx: ScriptContext): string {
  return text
    .replace(/\b(lease |\/)([0-9a-f]{1,16})\b/g, (_, before: string, hex: string) => `${before}${ctx.n.hexId(hex)}`)
    .replace(/^[0-9a-f]{1,16}$/gm, (hex) => ctx.n.hexId(hex));
}

const P = (ctx: ScriptContext, key = ''): string => `${ctx.prefix}/${key}`;

/** The lines of the interactive txn syntax: compares, blank, success ops, blank, failure ops, blank. */
const txnInput = (ctx: ScriptContext, compare: string): string =>
  [compare, '', `put ${P(ctx, 'a')} 6`, `put ${P(ctx, 't')} ok`, '', `get ${P(ctx, 'a')}`, '', ''].join('\n');

export const STEPS: readonly Step[] = [
  json(
    'put -w json (records the first revision)',
    (c) => ['put', P(c, 'a'), '1'],
    (out, c) => c.vars.set('rev1', headerRevision(out)),
  ),
  simple('put', (c) => ['put', P(c, 'b'), '2']),
  simple('put over an existing key', (c) => ['put', P(c, 'a'), '3']),
  simple('put --prev-kv on a new key', (c) => ['put', P(c, 'c'), '4', '--prev-kv']),
  simple('put --prev-kv on an existing key', (c) => ['put', P(c, 'a'), '5', '--prev-kv']),
  simple('get --prefix', (c) => ['get', P(c), '--prefix']),
  json('get --prefix -w json', (c) => ['get', P(c), '--prefix']),
  json('get --prefix --limit 2 -w json (more, count)', (c) => ['get', P(c), '--prefix', '--limit', '2']),
  // RangeStream (etcdctl 3.7; Debian's 3.4 has no --stream and refuses the flag alike on both).
  json('get --prefix --stream -w json', (c) => ['get', P(c), '--prefix', '--stream']),
  json('get --prefix --limit 2 --stream -w json (more, count)', (c) => ['get', P(c), '--prefix', '--limit', '2', '--stream']),
  {
    name: 'get --stream over 25 keys (several chunks)',
    run: async (c) => {
      const keys = Array.from({ length: 25 }, (_, i) => `put ${c.prefix}-stream/${String(i).padStart(2, '0')} v${i}`);
      const put = await ctl(c, ['txn', '-i'], { stdin: ['', ...keys, '', '', ''].join('\n') });
      if (put.code !== 0) return visible(put);
      const got = await ctl(c, ['get', `${c.prefix}-stream/`, '--prefix', '--stream', '--limit', '20', '-w', 'json']);
      return visible({ ...got, stdout: got.code === 0 ? c.n.json(got.stdout) : got.stdout });
    },
  },
  simple('get --stream --sort-by=CREATE (refused)', (c) => ['get', P(c), '--prefix', '--stream', '--sort-by=CREATE', '--order=DESCEND']),
  simple(
    'get --prefix -w fields',
    (c) => ['get', P(c), '--prefix', '-w', 'fields'],
    (text, c) =>
      // fields prints the header's numbers as "Name" : value lines.
      text.replace(
        /"(ClusterID|MemberID|Revision|RaftTerm|CreateRevision|ModRevision)" : (\d+)/g,
        (_, f: string, v: string) => `"${f}" : ${f === 'RaftTerm' ? '<term>' : c.n.label(f.endsWith('Revision') ? 'rev' : 'id', v)}`,
      ),
  ),
  simple('get --rev (an older revision)', (c) => ['get', P(c, 'a'), '--rev', need(c, 'rev1')]),
  simple('get --keys-only --sort-by=MODIFY --order=DESCEND', (c) => [
    'get',
    P(c),
    '--prefix',
    '--keys-only',
    '--sort-by=MODIFY',
    '--order=DESCEND',
  ]),
  simple('get --prefix --consistency=s (serializable)', (c) => ['get', P(c), '--prefix', '--consistency=s']),
  simple('get --print-value-only', (c) => ['get', P(c, 'a'), '--print-value-only']),
  simple('get a range [a, c)', (c) => ['get', P(c, 'a'), P(c, 'c')]),
  simple('get a missing key', (c) => ['get', P(c, 'missing')]),
  simple('del --prev-kv', (c) => ['del', P(c, 'b'), '--prev-kv']),
  {
    name: 'txn -i (compare holds)',
    run: async (c) => visible(await ctl(c, ['txn', '-i'], { stdin: txnInput(c, `value("${P(c, 'a')}") = "5"`) })),
  },
  {
    name: 'txn -i (compare fails) -w json',
    run: async (c) => {
      const result = await ctl(c, ['txn', '-i', '-w', 'json'], { stdin: txnInput(c, `mod("${P(c, 'a')}") < "1"`) });
      // The interactive prompts go to stdout too, before the JSON answer.
      const answer = result.stdout.replace(/^(compares|success requests \(get, put, del\)|failure requests \(get, put, del\)):$/gm, '');
      return visible({ ...result, stdout: result.code === 0 ? c.n.json(answer) : result.stdout });
    },
  },
  {
    name: 'watch --rev --prev-kv (stops after 4 events)',
    run: async (c) => {
      // Every change of P/a since rev1: 1, 3, 5 (prev 3), 6 (prev 5), all in the past, so the
      // watch replays them at once; it is stopped as soon as the fourth has been printed whole
      // (its type, prev key and value, key and value: 5 complete lines; output arrives in
      // chunks, so stopping at its first line could cut the rest off).
      const events = (out: string): number => out.split('\n').filter((l) => l === 'PUT' || l === 'DELETE').length;
      const fourthWhole = (out: string): boolean => {
        const lines = out.split('\n').slice(0, -1); // the last is not complete yet (or empty)
        const starts = lines.flatMap((l, i) => (l === 'PUT' || l === 'DELETE' ? [i] : []));
        return starts.length >= 4 && lines.length >= starts[3]! + 5;
      };
      const result = await ctl(c, ['watch', P(c, 'a'), '--rev', need(c, 'rev1'), '--prev-kv'], { until: fourthWhole });
      return `${events(result.stdout)} events\n${result.stdout.trimEnd()}`;
    },
  },
  {
    name: 'lease grant',
    run: async (c) => {
      const result = await ctl(c, ['lease', 'grant', '60']);
      const id = /lease ([0-9a-f]+) granted/.exec(result.stdout)?.[1];
      if (id !== undefined) c.vars.set('lease', id);
      return leaseIds(visible(result), c);
    },
  },
  simple('put --lease', (c) => ['put', P(c, 'l'), 'v', `--lease=${need(c, 'lease')}`]),
  simple('lease timetolive --keys', (c) => ['lease', 'timetolive', need(c, 'lease'), '--keys'], leaseIds),
  json('lease timetolive --keys -w json', (c) => ['lease', 'timetolive', need(c, 'lease'), '--keys']),
  simple('lease keep-alive --once', (c) => ['lease', 'keep-alive', '--once', need(c, 'lease')], leaseIds),
  simple(
    'lease list (has the lease)',
    () => ['lease', 'list'],
    (text, c) =>
      // Other runs' sessions may hold leases until their TTL runs out: only this run's counts.
      `${text.split('\n')[0]}\nlists the granted lease: ${text.split('\n').includes(need(c, 'lease'))}`,
  ),
  simple('lease revoke', (c) => ['lease', 'revoke', need(c, 'lease')], leaseIds),
  simple('get a key of the revoked lease', (c) => ['get', P(c, 'l')]),
  simple('lease timetolive of a revoked lease', (c) => ['lease', 'timetolive', need(c, 'lease')], leaseIds),
  simple(
    'lock (runs a command holding it)',
    (c) => ['lock', P(c, 'lock'), '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY"; test -n "$ETCD_LOCK_REV"'],
    leaseIds,
  ),
  {
    name: 'elect: campaign, then observe the leader',
    run: async (c) => {
      // Both block until stopped. The observer starts once the candidate printed its key and
      // value (it leads), and the candidate resigns only once the observer printed them.
      const twoLines = (out: string): boolean => out.split('\n').length > 2;
      let leads!: () => void;
      const leading = new Promise<void>((resolve) => (leads = resolve));
      let observedDone!: () => void;
      const observedLeader = new Promise<void>((resolve) => (observedDone = resolve));
      const campaign = runEtcdctl(c.ctl, c.endpoints, ['elect', P(c, 'elect'), 'cand1'], {
        onStdout: (out) => twoLines(out) && leads(),
        stop: observedLeader,
      });
      // A campaign that ends early (an error) must not leave the observer waiting for it.
      void campaign.finally(leads);
      await leading;
      const observed = await runEtcdctl(c.ctl, c.endpoints, ['elect', '-l', P(c, 'elect')], { until: twoLines }).finally(observedDone);
      const campaigned = await campaign;
      return leaseIds(`campaign: ${campaigned.stdout.trimEnd()}\nobserve: ${observed.stdout.trimEnd()}`, c);
    },
  },
  simple(
    'member list (sorted)',
    () => ['member', 'list'],
    // id, status, name, peer URLs, client URLs, learner?. Cairn serves peers and clients on
    // one address (docs/etcd-compatibility.md), so only the client URLs are compared.
    (text) =>
      sortLines(
        text.replace(
          /^[0-9a-f]+, ([^,]+), ([^,]+), [^,]+, /gm,
          (_, state: string, name: string) => `<member>, ${state}, ${name}, <peer>, `,
        ),
      ),
  ),
  {
    name: 'endpoint health (sorted)',
    run: async (c) => {
      // etcdctl 3.4 writes some of the endpoints' lines to stderr, as they come: all sorted.
      const result = await ctl(c, ['endpoint', 'health']);
      const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      return `exit ${result.code}\n${Normaliser.machine(c.n.addresses(lines.join('\n')))
        .split('\n')
        .sort()
        .join('\n')}`;
    },
  },
  simple(
    'endpoint status (sorted)',
    () => ['endpoint', 'status'],
    (text) => {
      // address, member id, version, storage version, db sizes, is leader, is learner, raft
      // term, raft index, applied index, errors, ...: the counters depend on history, and which
      // endpoint leads on timing; the shape and the number of leaders must not.
      let leaders = 0;
      const rows = text
        .replace(/^(<addr\d+>), [0-9a-f]+, [^,]+, /gm, (_, addr: string) => `${addr}, <member>, <version>, `)
        .replace(/, (true|false), (true|false), (\d+), (\d+), (\d+),/g, (_, leader: string, learner: string) => {
          if (leader === 'true') leaders += 1;
          return `, <is leader>, ${learner}, <term>, <index>, <index>,`;
        });
      return `${sortLines(rows)}\nleaders: ${leaders}`;
    },
  ),
  json(
    'compaction to the revision after the txn',
    (c) => ['get', P(c, 'a')],
    (out, c) => c.vars.set('compactTo', headerRevision(out)),
  ),
  simple(
    'compaction',
    (c) => ['compaction', need(c, 'compactTo')],
    (text, c) => text.replace(/compacted revision (\d+)/, (_, r: string) => `compacted revision ${c.n.label('rev', r)}`),
  ),
  simple('get --rev below the compacted revision', (c) => ['get', P(c, 'a'), '--rev', need(c, 'rev1')]),
  simple('user add root', () => ['user', 'add', 'root', '--new-user-password=rootpw']),
  simple('user grant-role root root', () => ['user', 'grant-role', 'root', 'root']),
  simple('role add', (c) => ['role', 'add', `${c.prefix.slice(1)}-reader`]),
  simple('role grant-permission --prefix', (c) => ['role', 'grant-permission', `${c.prefix.slice(1)}-reader`, 'read', P(c), '--prefix']),
  simple('user add', (c) => ['user', 'add', `${c.prefix.slice(1)}-u`, '--new-user-password=upw']),
  simple('user grant-role', (c) => ['user', 'grant-role', `${c.prefix.slice(1)}-u`, `${c.prefix.slice(1)}-reader`]),
  simple('role get', (c) => ['role', 'get', `${c.prefix.slice(1)}-reader`]),
  simple('user get', (c) => ['user', 'get', `${c.prefix.slice(1)}-u`]),
  simple('user list', () => ['user', 'list']),
  simple('role list', () => ['role', 'list']),
  simple('auth enable', () => ['auth', 'enable']),
  simple('get as a user allowed to read', (c) => ['get', P(c, 'a'), `--user=${c.prefix.slice(1)}-u:upw`]),
  simple('put as a user allowed only to read', (c) => ['put', P(c, 'a'), 'x', `--user=${c.prefix.slice(1)}-u:upw`]),
  simple('get outside the granted prefix', (c) => ['get', '/elsewhere', `--user=${c.prefix.slice(1)}-u:upw`]),
  simple('get with a wrong password', (c) => ['get', P(c, 'a'), `--user=${c.prefix.slice(1)}-u:wrong`]),
  simple('get with no user while auth is on', (c) => ['get', P(c, 'a')]),
  simple('auth disable', () => ['auth', 'disable', '--user=root:rootpw']),
  simple('user delete', (c) => ['user', 'delete', `${c.prefix.slice(1)}-u`]),
  simple('role delete', (c) => ['role', 'delete', `${c.prefix.slice(1)}-reader`]),
  simple('user delete root', () => ['user', 'delete', 'root']),
  {
    name: 'snapshot save (one endpoint)',
    run: async (c) => {
      const file = join(c.dir, `${c.prefix.slice(1)}.db`);
      const result = await runEtcdctl(c.ctl, c.endpoints.slice(0, 1), ['snapshot', 'save', file]);
      const size = await stat(file).then(
        (s) => s.size,
        () => 0,
      );
      return `${Normaliser.machine(visible(result).replaceAll(file, '<file>'))}\nfile written: ${size > 0}`;
    },
  },
  json('del --prefix -w json', (c) => ['del', P(c), '--prefix']),
];

function sortLines(text: string): string {
  const [first, ...rest] = text.split('\n');
  return [first, ...rest.sort()].join('\n');
}

/** Runs every step in order; a step that throws records its error and the run goes on. */
export async function runScript(ctl: Etcdctl, endpoints: readonly string[], prefix: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-etcdctl-'));
  const ctx: ScriptContext = { ctl, endpoints, prefix, n: new Normaliser(endpoints), vars: new Map(), dir };
  try {
    const outputs: string[] = [];
    for (const step of STEPS) {
      outputs.push(await step.run(ctx).catch((err: unknown) => `step failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    return outputs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
