/** Public surface of the pure Raft core. */
export { InvariantError, invariant } from './errors.js';
export type { RandomSource } from './random.js';
export * from './types.js';
export type { Message, MessageInit } from './message.js';
export { MessageType, CAMPAIGN_TRANSFER, makeMessage, isLocalMessage } from './message.js';
export type { RaftStorage } from './storage.js';
export { MemoryRaftStorage } from './memory-storage.js';
export type { Ready } from './ready.js';
export type { RaftOptions } from './raft.js';
export { RawNode } from './raw-node.js';
export type { BasicStatus, RaftStatus } from './raw-node.js';
export { ProgressState } from './progress.js';
