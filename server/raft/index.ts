/** Public surface of the pure Raft core. */
export { InvariantError, invariant } from './errors.js';
export type { RandomSource } from './random.js';
export * from './types.js';
export type { Message, MessageInit } from './message.js';
export { MessageType, CAMPAIGN_TRANSFER, makeMessage, isLocalMessage } from './message.js';
export type { RaftStorage } from './storage.js';
export { MemoryRaftStorage } from './memory-storage.js';
export type { Ready } from './ready.js';
export type { AppliedConfChange, RaftOptions } from './raft.js';
export type { ConfChange } from './conf-change.js';
export { ConfChangeType, confChangeError, decodeConfChange, encodeConfChange } from './conf-change.js';
export { RawNode } from './raw-node.js';
export type { BasicStatus, ConfChangeSubmitResult, RaftStatus } from './raw-node.js';
export { ProgressState } from './progress.js';
