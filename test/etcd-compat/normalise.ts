/**
 * Makes two runs of the same etcdctl commands comparable across servers: every lease id,
 * revision and address is replaced by a label given in order of first appearance (addresses:
 * the client endpoints in the order given), so equal structure compares equal while a value
 * that changes where etcd's does not (or repeats where etcd's differs) still shows. Cluster
 * and member ids, raft terms, sizes, durations and versions become placeholders: which
 * member answers a request is the client's choice, not a property of the server.
 */
export class Normaliser {
  private readonly labels = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  constructor(endpoints: readonly string[]) {
    for (const endpoint of endpoints) this.addresses(endpoint);
  }

  /** The label of one value of a kind: the same value always gets the same label. */
  label(kind: string, value: string | number | bigint): string {
    const key = `${kind}:${typeof value === 'string' ? value : BigInt(value).toString()}`;
    let found = this.labels.get(key);
    if (found === undefined) {
      const n = (this.counts.get(kind) ?? 0) + 1;
      this.counts.set(kind, n);
      found = `<${kind}${n}>`;
      this.labels.set(key, found);
    }
    return found;
  }

  /** An id printed in hex (lease ids, member ids in etcdctl's simple output). */
  hexId(hex: string): string {
    return this.label('id', BigInt(`0x${hex}`));
  }

  /** Loopback addresses, by port: member order differs, structure must not. */
  addresses(text: string): string {
    return text.replace(/127\.0\.0\.1:(\d+)/g, (_, port: string) => this.label('addr', port));
  }

  /** Durations and sizes that depend on the machine and the storage engine. */
  static machine(text: string): string {
    return text
      .replace(/took = [0-9.]+[µmn]?s/g, 'took = <duration>')
      .replace(/Server version \S+/g, 'Server version <version>')
      .replace(/\b\d+%/g, '<pct>')
      .replace(/remaining\(-?\d+s\)/g, 'remaining(<s>)')
      .replace(/\b\d+(\.\d+)? ?[kMG]?B\b/g, '<size>');
  }

  /**
   * etcdctl's JSON output (-w json): parsed with every integer as a string (ids are uint64,
   * beyond what a JS number holds exactly), then each field by what it means.
   */
  json(text: string): string {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    return lines
      .map((line) => JSON.stringify(this.jsonValue(JSON.parse(line.replace(/([:[,]\s*)(-?\d+)(?=\s*[,}\]])/g, '$1"$2"')) as unknown, '')))
      .join('\n');
  }

  private jsonValue(value: unknown, field: string): unknown {
    if (Array.isArray(value)) return value.map((v) => this.jsonValue(v, field));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.jsonValue(v, k)]));
    }
    if (typeof value !== 'string') return value;
    switch (field) {
      case 'cluster_id':
        return '<cluster>';
      case 'member_id':
      case 'leader':
        return '<member>';
      case 'ID':
      case 'id':
      case 'lease':
        return value === '0' ? value : this.label('id', value);
      case 'revision':
      case 'create_revision':
      case 'mod_revision':
      case 'compact_revision':
        return value === '0' ? value : this.label('rev', value);
      case 'raft_term':
        return '<term>';
      // Counters of the log and the storage engine, and a remaining TTL that ticks down.
      case 'raft_index':
      case 'raftIndex':
      case 'raft_applied_index':
      case 'dbSize':
      case 'dbSizeInUse':
      case 'dbSizeQuota':
      case 'TTL':
      case 'ttl':
        return '<n>';
      case 'peerURLs':
      case 'clientURLs':
        return this.addresses(value);
      default:
        return value;
    }
  }
}
