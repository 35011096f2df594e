/**
 * etcd's API on a three-member Cairn of real processes: a follower serves etcd's Range,
 * takes writes (through the leader's log), forwards lease keep-alives and time-to-live to
 * the leader, and streams watch events of writes made through another member; every member
 * answers with the same cluster id and its own member id.
 */
import test from 'ava';
import { Event_EventType } from '../../gen/ts/etcd/api/mvccpb/kv.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { EtcdClients } from '../helpers/etcd-clients.js';
import { retryUntilOk } from '../helpers/wait.js';

const WAIT_MS = 60_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('followers serve etcd reads, writes, watches and forwarded lease keep-alives', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  const leaderName = await cluster.waitForLeader();
  const [f1, f2] = cluster.members.filter((m) => m.name !== leaderName);
  const leader = new EtcdClients(t, cluster.member(leaderName).address);
  const one = new EtcdClients(t, f1!.address);
  const two = new EtcdClients(t, f2!.address);

  const w = two.openWatch(t);
  const watchId = await w.create({ key: b('c/'), rangeEnd: b('c0'), prevKv: true });
  const put = await retryUntilOk(() => one.put({ key: b('c/1'), value: b('1') }), 'put through a follower', WAIT_MS);
  await leader.put({ key: b('c/1'), value: b('2') });
  const events = await w.waitForEvents(watchId, 2);
  t.deepEqual(
    events.map((e) => [e.type, e.kv?.value.toString(), e.prevKv?.value.toString()]),
    [
      [Event_EventType.PUT, '1', undefined],
      [Event_EventType.PUT, '2', '1'],
    ],
  );
  // A linearizable read on a follower sees the write made through the leader.
  const read = await one.range({ key: b('c/1') });
  t.is(read.kvs[0]?.value.toString(), '2');
  const headers = [put.header!, read.header!, (await leader.range({ key: b('c/1') })).header!];
  t.is(new Set(headers.map((h) => h.clusterId)).size, 1, 'one cluster id');
  t.not(read.header!.memberId, headers[2]!.memberId, 'each member names itself');

  const lease = await one.grant(4);
  await one.put({ key: b('c/leased'), value: b('x'), lease: lease.ID });
  const ka = one.keepAlive();
  t.teardown(() => ka.close());
  // Renewed through the follower for longer than the TTL: the leader's lessor answers.
  for (let i = 0; i < 4; i++) {
    const r = await ka.renew(lease.ID);
    t.is(r.ID, lease.ID);
    t.is(r.TTL, 4);
  }
  const ttl = await two.timeToLive(lease.ID, true);
  t.true(ttl.TTL > 0 && ttl.TTL <= 4);
  t.deepEqual(
    ttl.keys.map((k) => k.toString()),
    ['c/leased'],
  );
  await two.revoke(lease.ID);
  const gone = await w.waitFor((r) => r.events.some((e) => e.type === Event_EventType.DELETE), 'the revoke deleting c/leased');
  t.is(gone.events[0]!.kv!.key.toString(), 'c/leased');
  t.is((await one.timeToLive(lease.ID)).TTL, -1);
});
