/**
 * Port: how the driver sends Raft messages to peers (server/transport/peer-transport.ts in
 * production, a simulated network in the simulator). Defined here, by its consumer.
 */
import type { Message } from '../../raft/message.js';

/** Best-effort, non-blocking delivery to peers; must not throw (drops are fine: Raft retries). */
export interface PeerSender {
  send(messages: readonly Message[]): void;
}
