/**
 * Plain data types shared by the core, its storage and its driver. The wire encoding (proto)
 * lives elsewhere and maps onto these; nothing here knows about bytes on the wire.
 */

/** Node ids are positive integers; 0 means "nobody" (no vote, no known leader). */
export type NodeId = number;
export const NONE: NodeId = 0;

export const EntryType = {
  Normal: 'normal',
  /** A membership change; `data` is an encoded ConfChange (see conf-change.ts). */
  ConfChange: 'conf-change',
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Empty for the no-op entry a new leader appends. */
  readonly data: Uint8Array;
}

/** The state that must be durable before any message depending on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hardStateEqual(hs, EMPTY_HARD_STATE);
}

/** Cluster membership as recorded in snapshots: voters and (non-voting) learners, disjoint. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  /** Absent means none (snapshots written before learners existed). */
  readonly learners?: readonly NodeId[];
}

export interface Snapshot {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
  /** Opaque state-machine image. */
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT: Snapshot = {
  index: 0,
  term: 0,
  confState: { voters: [] },
  data: new Uint8Array(0),
};

export const StateRole = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type StateRole = (typeof StateRole)[keyof typeof StateRole];

/** Volatile state useful to the application (leader hints, logging); never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: StateRole;
}

/**
 * A linearizable read may be served once the local state machine has applied `index`.
 * `context` is the caller's request id, echoed back unchanged.
 */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/** Approximate in-memory/wire size of an entry, for byte-based limits. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 16;
}

export function entriesSize(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySize(e);
  return n;
}

/**
 * Returns the longest prefix of `ents` whose total size is <= maxBytes, but always at least
 * one entry so progress is possible with oversized entries.
 */
export function limitSize(ents: readonly Entry[], maxBytes: number): readonly Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let i = 1;
  for (; i < ents.length; i++) {
    size += entrySize(ents[i]!);
    if (size > maxBytes) break;
  }
  return i === ents.length ? ents : ents.slice(0, i);
}

/** Why a proposal, read or transfer request was not accepted locally. */
export const DropReason = {
  /** A follower or candidate that knows of no leader has nowhere to forward it. */
  NoLeader: 'no-leader',
  /** The leader stops accepting proposals while handing leadership over. */
  LeaderTransferring: 'leader-transferring',
  /**
   * A request forwarded by another member reached a follower (leadership moved on the way).
   * It is not forwarded a second time, as that hop would speak for a member that did not
   * send it; the member it came from times out and retries.
   */
  NotLeader: 'not-leader',
  /** This node is not a voter of the current configuration. */
  NotMember: 'not-member',
  /** This node was removed from the cluster by a committed conf change; it takes part in nothing. */
  Removed: 'removed',
  /** A conf change is refused while an earlier one is not applied yet (one change at a time). */
  ConfChangePending: 'conf-change-pending',
  /** A new leader refuses conf changes until an entry of its own term committed. */
  ConfChangeTooEarly: 'conf-change-too-early',
  /** The conf change does not apply to the current configuration (see `detail`). */
  ConfChangeInvalid: 'conf-change-invalid',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/**
 * Outcome of a local request. `accepted` means appended (leader), forwarded (follower) or
 * queued; it is NOT a promise of commit: the caller watches committed entries / read states.
 */
export type SubmitResult =
  { readonly accepted: true } | { readonly accepted: false; readonly reason: DropReason; readonly detail?: string };

export const ACCEPTED: SubmitResult = { accepted: true };
export function dropped(reason: DropReason, detail?: string): SubmitResult {
  return detail === undefined ? { accepted: false, reason } : { accepted: false, reason, detail };
}
