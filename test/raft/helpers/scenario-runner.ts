import type { Message } from '../../../server/raft/message.js';
import { MessageType } from '../../../server/raft/message.js';
import type { Entry, NodeId } from '../../../server/raft/types.js';
import type { ClusterOptions } from './cluster.js';
import { TestCluster, dec, enc } from './cluster.js';

/**
 * Data-driven Raft scenarios in the spirit of etcd-io/raft's testdata: a text file of blocks
 *
 *   command args...
 *   ----
 *   expected output
 *
 * separated by blank lines; '#' lines are comments. Commands:
 *   cluster 1 2 3 [prevote=false] [checkquorum=false] [seed=N] [maxsize=N] [inflight=N]
 *   campaign N | tick N [times] | tick-all [times] | propose N data | read N ctx...
 *   transfer N to | partition 1 2 | 3 | isolate N | heal | restart N | compact N
 *   hold-write N (N's next Ready: messages sent at once, write + advance wait) | persist N
 *   deliver (one round: prints delivered messages) | stabilize (until quiet; prints them)
 *   status | log N | applied N | reads N
 */
export function runScenario(text: string): { actual: string; blocks: { cmd: string; expected: string; actual: string }[] } {
  let c: TestCluster | undefined;
  const cluster = (): TestCluster => {
    if (c === undefined) throw new Error('no cluster yet');
    return c;
  };
  const blocks: { cmd: string; expected: string; actual: string }[] = [];
  const out: string[] = [];
  const chunks = text.split(/\n\s*\n/);
  for (const chunk of chunks) {
    const raw = chunk.split('\n').filter((l) => l.trim() !== '' || false);
    const rawSep = raw.indexOf('----');
    const lines = raw.filter((l) => !l.startsWith('#'));
    if (lines.length === 0) {
      if (raw.length > 0) out.push(raw.join('\n')); // comment-only block: keep as is
      continue;
    }
    const cmd = lines[0]!.trim();
    const sep = lines.indexOf('----');
    const expected =
      sep < 0
        ? ''
        : lines
            .slice(sep + 1)
            .join('\n')
            .trimEnd();
    const [name, ...args] = cmd.split(/\s+/);
    let result: string[];
    switch (name) {
      case 'cluster': {
        const ids = args.filter((a) => /^\d+$/.test(a)).map(Number);
        const opts: { -readonly [K in keyof ClusterOptions]: ClusterOptions[K] } = {};
        for (const a of args.filter((x) => x.includes('='))) {
          const [k, v] = a.split('=') as [string, string];
          if (k === 'prevote') opts.preVote = v === 'true';
          else if (k === 'checkquorum') opts.checkQuorum = v === 'true';
          else if (k === 'seed') opts.seed = Number(v);
          else if (k === 'maxsize') opts.maxSizePerMsg = Number(v);
          else if (k === 'inflight') opts.maxInflightMsgs = Number(v);
          else throw new Error(`unknown cluster option ${k}`);
        }
        c = new TestCluster(ids, opts);
        result = ['ok'];
        break;
      }
      case 'campaign':
        cluster().node(Number(args[0])).campaign();
        result = flushAndDescribe(cluster());
        break;
      case 'tick': {
        const n = Number(args[1] ?? 1);
        for (let i = 0; i < n; i++) cluster().node(Number(args[0])).tick();
        result = flushAndDescribe(cluster());
        break;
      }
      case 'tick-all': {
        const n = Number(args[0] ?? 1);
        for (let i = 0; i < n; i++) cluster().tickAll(1);
        result = ['ok'];
        break;
      }
      case 'propose': {
        const r = cluster()
          .node(Number(args[0]))
          .propose(enc(args[1] ?? ''));
        result = r.accepted ? flushAndDescribe(cluster()) : [`dropped: ${r.reason}`];
        break;
      }
      case 'read': {
        // Several contexts are requested back to back, before the next Ready.
        const node = cluster().node(Number(args[0]));
        const drops = args
          .slice(1)
          .map((ctx) => node.readIndex(enc(ctx)))
          .filter((r) => !r.accepted);
        result = drops.length === 0 ? flushAndDescribe(cluster()) : drops.map((r) => `dropped: ${r.accepted ? '' : r.reason}`);
        break;
      }
      case 'transfer': {
        const r = cluster().node(Number(args[0])).transferLeadership(Number(args[1]));
        result = r.accepted ? flushAndDescribe(cluster()) : [`dropped: ${r.reason}`];
        break;
      }
      case 'partition': {
        const bar = args.indexOf('|');
        cluster().partition(args.slice(0, bar).map(Number), args.slice(bar + 1).map(Number));
        result = ['ok'];
        break;
      }
      case 'isolate':
        cluster().isolate(Number(args[0]));
        result = ['ok'];
        break;
      case 'heal':
        cluster().heal();
        result = ['ok'];
        break;
      case 'restart':
        cluster().restart(Number(args[0]));
        result = ['ok'];
        break;
      case 'hold-write':
        cluster().holdWrite(Number(args[0]));
        result = ['ok'];
        break;
      case 'persist':
        cluster().persist(Number(args[0]));
        result = flushAndDescribe(cluster());
        break;
      case 'compact': {
        const cl = cluster();
        const id = Number(args[0]);
        const st = cl.node(id).status();
        cl.m(id).storage.createSnapshot(st.applied, st.confState, enc(cl.appliedData(id).join(',')));
        cl.m(id).storage.compact(st.applied);
        result = [`compacted ${id} to ${st.applied}`];
        break;
      }
      case 'deliver':
        result = deliverAndDescribe(cluster(), 1);
        break;
      case 'stabilize':
        result = deliverAndDescribe(cluster(), 1000);
        break;
      case 'status':
        result = cluster().ids.map((id) => {
          const st = cluster().node(id).status();
          return `${id}: ${st.role} term=${st.term} vote=${st.vote} lead=${st.lead} commit=${st.commit} applied=${st.applied} last=${st.lastIndex}`;
        });
        break;
      case 'log':
        result = [cluster().node(Number(args[0])).logEntries().map(fmtEntry).join(' ') || '(empty)'];
        break;
      case 'applied':
        result = [cluster().m(Number(args[0])).applied.map(fmtEntry).join(' ') || '(none)'];
        break;
      case 'reads':
        result = [
          cluster()
            .m(Number(args[0]))
            .readStates.map((rs) => `${dec(rs.context)}@${rs.index}`)
            .join(' ') || '(none)',
        ];
        break;
      default:
        throw new Error(`unknown scenario command: ${cmd}`);
    }
    const actual = result.join('\n');
    blocks.push({ cmd, expected, actual });
    out.push(`${raw.slice(0, rawSep < 0 ? raw.length : rawSep).join('\n')}\n----\n${actual}`);
  }
  return { actual: `${out.join('\n\n')}\n`, blocks };
}

function flushAndDescribe(c: TestCluster): string[] {
  c.flush();
  const pending = c.inflight.map(fmtMessage);
  return pending.length === 0 ? ['(no messages)'] : pending.map((m) => `> ${m}`);
}

function deliverAndDescribe(c: TestCluster, rounds: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < rounds; i++) {
    c.flush();
    if (c.inflight.length === 0) break;
    for (const m of c.inflight) lines.push(`${fmtMessage(m)}${dropped(c, m) ? '  (dropped)' : ''}`);
    c.deliverOnce();
  }
  return lines.length === 0 ? ['(quiet)'] : lines;
}

function dropped(c: TestCluster, m: Message): boolean {
  return c.isLinkCut(m.from, m.to);
}

function fmtEntry(e: Entry): string {
  return `${e.index}/${e.term}${e.data.byteLength > 0 ? `:${dec(e.data)}` : ''}`;
}

export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case MessageType.App:
      return `${head} prev=${m.index}/${m.logTerm} commit=${m.commit} entries=[${m.entries.map(fmtEntry).join(' ')}]`;
    case MessageType.AppResp:
      return m.reject ? `${head} rejected index=${m.index} hint=${m.rejectHint}/${m.logTerm}` : `${head} index=${m.index}`;
    case MessageType.Vote:
    case MessageType.PreVote:
      return `${head} last=${m.index}/${m.logTerm}${m.context !== undefined ? ' (transfer)' : ''}`;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      return `${head}${m.reject ? ' rejected' : ' granted'}`;
    case MessageType.Heartbeat:
    case MessageType.HeartbeatResp:
      return `${head}${m.type === MessageType.Heartbeat ? ` commit=${m.commit}` : ''}${m.context !== undefined ? ` ctx=${dec(m.context)}` : ''}`;
    case MessageType.Snap:
      return `${head} snapshot=${m.snapshot?.index}/${m.snapshot?.term}`;
    case MessageType.Prop:
      return `${head} entries=[${m.entries.map((e) => dec(e.data)).join(' ')}]`;
    case MessageType.ReadIndex:
    case MessageType.ReadIndexResp:
      return `${head} index=${m.index} ctx=${m.context === undefined ? '' : dec(m.context)}`;
    default:
      return head;
  }
}

export type { NodeId };
