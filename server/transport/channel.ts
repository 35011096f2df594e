import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { RaftPeerServiceClient } from '../../gen/ts/cairn/raft/v1/raft.js';
import type { PeerBackoffOptions } from './backoff.js';

export interface ChannelSettings {
  readonly credentials: ChannelCredentials;
  readonly backoff: PeerBackoffOptions;
  /** Ping an idle connection this often, so a silently dead peer (no RST) is noticed. */
  readonly keepaliveTimeMs: number;
  /** ...and give up on it when a ping goes unanswered this long. */
  readonly keepaliveTimeoutMs: number;
}

/**
 * A client for one peer. grpc-js has its own connection backoff (1 s up to 120 s by default)
 * and fails calls fast while it waits, so it is aligned with ours or a restarted peer could
 * stay unreachable for minutes. `dedicated` gives the client its own TCP connection, so a
 * multi-MiB snapshot never queues heartbeats behind it.
 */
export function createPeerClient(address: string, s: ChannelSettings, dedicated: boolean): RaftPeerServiceClient {
  const options: ChannelOptions = {
    'grpc.keepalive_time_ms': s.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': s.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': s.backoff.initialMs,
    'grpc.max_reconnect_backoff_ms': s.backoff.maxMs,
    ...(dedicated ? { 'grpc.use_local_subchannel_pool': 1 } : {}),
  };
  return new RaftPeerServiceClient(address, s.credentials, options);
}
