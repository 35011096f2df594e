/**
 * Issue 17's acceptance with etcdctl: the same command list (etcdctl-script.ts) run by both
 * etcdctl builds (3.7.3 from the Go module proxy, Debian's 3.4) against a three-member real
 * etcd and a three-member Cairn, outputs normalised and compared step by step.
 *
 * The runs against etcd validate the script itself (every step must run to completion
 * there). Against Cairn each step is a test: equal to etcd's output, or the suite fails.
 */
import test from 'ava';
import { startBothClusters } from './both-clusters.js';
import { ETCDCTL_37, ETCDCTL_DEBIAN, type Etcdctl } from './etcd-tools.js';
import { runScript, STEPS } from './etcdctl-script.js';

const CLIENTS: readonly Etcdctl[] = [ETCDCTL_37, ETCDCTL_DEBIAN];

interface Outputs {
  etcd: Map<string, string[]>;
  cairn: Map<string, string[]>;
  etcdLogs: string;
  cairnLogs: string;
}

let outputs: Outputs | undefined;

test.before(async (t) => {
  // Four runs of ~60 commands on a busy machine, plus two cluster starts.
  t.timeout(30 * 60_000);
  const both = await startBothClusters();
  try {
    const result: Outputs = { etcd: new Map(), cairn: new Map(), etcdLogs: '', cairnLogs: '' };
    for (const [i, ctl] of CLIENTS.entries()) {
      const prefix = `/run${i}`;
      result.etcd.set(ctl.label, await runScript(ctl, both.etcd.endpoints, prefix));
      result.cairn.set(ctl.label, await runScript(ctl, both.cairn.endpoints, prefix));
    }
    result.etcdLogs = both.etcd.logs();
    result.cairnLogs = both.cairn.logs();
    outputs = result;
  } finally {
    await both.cleanup();
  }
});

for (const ctl of CLIENTS) {
  test(`${ctl.label} against etcd: every step runs to completion`, (t) => {
    const etcd = outputs!.etcd.get(ctl.label)!;
    const broken = STEPS.flatMap((step, i) =>
      etcd[i]!.startsWith('step failed') || etcd[i]!.includes('[killed') ? [`${step.name}: ${etcd[i]}`] : [],
    );
    t.deepEqual(broken, [], outputs!.etcdLogs);
  });

  for (const [i, step] of STEPS.entries()) {
    test(`${ctl.label} against Cairn as against etcd: ${step.name}`, (t) => {
      const etcd = outputs!.etcd.get(ctl.label)![i]!;
      const cairn = outputs!.cairn.get(ctl.label)![i]!;
      t.is(cairn, etcd, `etcd:\n${etcd}\n\nCairn:\n${cairn}`);
    });
  }
}
