/**
 * The member's /metrics, /healthz and /readyz on --metrics-listen: every RPC is counted by
 * method and status code (errors and streams included) by the one server interceptor, and
 * Raft, MVCC and watch metrics report what the member did. Read straight from the endpoint
 * (the Prometheus end-to-end test is test/e2e/prometheus-metrics.test.ts).
 */
import test from 'ava';
import { b, grpcError, startApiNode } from '../helpers/grpc-clients.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

/** The value of one sample of the text exposition, by metric name and label subset. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('/metrics counts RPCs by method and code, streams too, and reports raft, mvcc and watch state', async (t) => {
  const n = await startApiNode(t, 'rocksdb', { node: { metricsListen: '127.0.0.1:0' } });
  const base = `http://${n.node.metricsAddress!}`;
  const scrape = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();

  const w = n.openWatch();
  const id = await w.create({ key: b('k') });
  for (let i = 0; i < 3; i++) await n.kv.put({ key: b('k'), value: b(`v${i}`) });
  await w.waitForEvents(id, 3);
  await grpcError(n.kv.put({ key: b('') })); // empty key: InvalidArgument
  await n.kv.range({ key: b('k') });

  let text = await scrape();
  const put = { grpc_service: 'cairn.v1.KVService', grpc_method: 'Put', grpc_type: 'unary' };
  t.is(sample(text, 'cairn_grpc_server_started_total', put), 4);
  t.is(sample(text, 'cairn_grpc_server_handled_total', { ...put, grpc_code: 'OK' }), 3);
  t.is(sample(text, 'cairn_grpc_server_handled_total', { ...put, grpc_code: 'InvalidArgument' }), 1);
  t.is(sample(text, 'cairn_grpc_server_handling_seconds_count', put), 4);
  t.is(sample(text, 'cairn_grpc_server_handled_total', { grpc_method: 'Range', grpc_code: 'OK' }), 1);
  const watch = { grpc_service: 'cairn.v1.WatchService', grpc_method: 'Watch', grpc_type: 'bidi_stream' };
  t.is(sample(text, 'cairn_grpc_server_started_total', watch), 1, 'the open stream counts as started');
  t.is(sample(text, 'cairn_grpc_server_handled_total', watch), undefined, 'but not as handled while it is open');
  t.is(sample(text, 'cairn_watch_streams'), 1);
  t.is(sample(text, 'cairn_watch_watchers', { state: 'synced' }), 1);
  t.is(sample(text, 'cairn_watch_events_sent_total'), 3);
  t.is(sample(text, 'cairn_raft_proposals_committed_total'), 3);
  t.is(sample(text, 'cairn_raft_commit_duration_seconds_count'), 3);
  t.true((sample(text, 'cairn_raft_log_fsync_duration_seconds_count') ?? 0) >= 1);
  t.is(sample(text, 'cairn_raft_is_leader'), 1);
  t.is(sample(text, 'cairn_raft_leader_changes_total'), 1);
  t.is(sample(text, 'cairn_mvcc_keys'), 1);
  t.is(sample(text, 'cairn_mvcc_revision'), 4, 'a fresh store is at revision 1: three puts bring it to 4');
  t.true((sample(text, 'cairn_mvcc_db_size_bytes') ?? 0) > 0);
  t.is(sample(text, 'cairn_raft_apply_lag_entries'), 0);
  // The log holds the election's entries and the three puts, far below its bound.
  const logBytes = sample(text, 'cairn_raft_log_memory_bytes') ?? 0;
  t.true(logBytes > 0 && logBytes <= (sample(text, 'cairn_raft_log_memory_peak_bytes') ?? 0), `log bytes ${logBytes}`);
  t.is(sample(text, 'cairn_raft_log_memory_limit_bytes'), 64 * 1024 * 1024);

  // A stream that ends is handled (with the status the server ended it with: the client's
  // cancel reaches the stream as its end). Scraped until it shows (events, not sleeps).
  w.close();
  const deadline = Date.now() + MIN_WAIT_MS;
  while (sample(text, 'cairn_grpc_server_handled_total', watch) === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    text = await scrape();
  }
  t.is(sample(text, 'cairn_grpc_server_handled_total', watch), 1);
  t.is(sample(text, 'cairn_grpc_server_handling_seconds_count', watch), 1);
  t.is(sample(text, 'cairn_watch_streams'), 0);

  t.is((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  t.is(ready.status, 200);
  t.regex(await ready.text(), /^ready: leader \d+/);
  t.is((await fetch(`${base}/nope`)).status, 404);
});
