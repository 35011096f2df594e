import type { ChannelOptions } from '@grpc/grpc-js';
import type { Limits } from '../config.js';

/**
 * The transport-level cap on any message. Client requests are held to maxRequestBytes by
 * validation (with a clearer message); Raft appends carry whole entries, each up to that
 * size, plus batching, so the cap leaves room for both.
 */
const GRPC_OVERHEAD_BYTES = 1024 * 1024;

/** The member's transport settings for its gRPC server (bench/grpc-floor.ts serves with them too). */
export function grpcServerOptions(limits: Pick<Limits, 'maxRequestBytes'>): ChannelOptions {
  return {
    'grpc.max_receive_message_length': 2 * limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Channelz keeps per-call counters and timestamps (closures and Date.now() on every
    // message) for a channelz service Cairn does not serve; profiled, that was per-request
    // work nobody reads.
    'grpc.enable_channelz': 0,
  };
}
