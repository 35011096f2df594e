/**
 * The Cluster service from tests, and a continuous write load that counts only acknowledged
 * writes, for membership changes run against real processes.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClusterServiceClient, type Member, type MemberAddResponse, type MemberListResponse } from '../../gen/ts/cairn/v1/cluster.js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { Kv, b } from './grpc-clients.js';

function call<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

const DEADLINE_MS = 30_000;
const deadline = (): { deadline: number } => ({ deadline: Date.now() + DEADLINE_MS });

export class Members {
  private readonly client: ClusterServiceClient;
  constructor(readonly address: string) {
    this.client = new ClusterServiceClient(address, credentials.createInsecure());
  }
  list(): Promise<Member[]> {
    return call<MemberListResponse>((cb) => this.client.memberList({}, new Metadata(), deadline(), cb)).then((r) => r.members);
  }
  add(name: string, address: string): Promise<MemberAddResponse> {
    return call((cb) => this.client.memberAdd({ name, address }, new Metadata(), deadline(), cb));
  }
  promote(id: number): Promise<unknown> {
    return call((cb) => this.client.memberPromote({ id }, new Metadata(), deadline(), cb));
  }
  remove(id: number): Promise<unknown> {
    return call((cb) => this.client.memberRemove({ id }, new Metadata(), deadline(), cb));
  }
  status(): Promise<StatusResponse> {
    const m = new MaintenanceServiceClient(this.address, credentials.createInsecure());
    return call<StatusResponse>((cb) => m.status({}, new Metadata(), deadline(), cb)).finally(() => m.close());
  }
  close(): void {
    this.client.close();
  }
}

/**
 * Puts keys `load/<n>` one after another through whichever of `endpoints()` answers, until
 * stopped. A write counts once it is acknowledged; one that failed may or may not have
 * applied, and is not counted (nor asserted on).
 */
export class WriteLoad {
  readonly acknowledged: string[] = [];
  readonly failures: string[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly endpoints: () => readonly string[]) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(): Promise<void> {
    let n = 0;
    let turn = 0;
    while (!this.stopped) {
      const targets = this.endpoints();
      const address = targets[turn++ % targets.length]!;
      const client = new KVServiceClient(address, credentials.createInsecure());
      const key = `load/${String(n++).padStart(8, '0')}`;
      try {
        await new Kv(client).put({ key: b(key), value: b(key) });
        this.acknowledged.push(key);
      } catch (err) {
        this.failures.push(`${address}: ${(err as Error).message}`);
        // Not a busy loop while a member restarts or an election runs.
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        client.close();
      }
    }
  }
}
