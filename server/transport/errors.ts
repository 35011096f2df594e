import { status } from '@grpc/grpc-js';

/** Why the transport refused a message or a transfer. */
export const TransportErrorCode = {
  /** The message type is unknown to this build (or UNSPECIFIED). */
  UnknownMessageType: 'UNKNOWN_MESSAGE_TYPE',
  /** A type the core only generates for itself (MsgHup, MsgUnreachable, ...). */
  LocalMessageType: 'LOCAL_MESSAGE_TYPE',
  /** The message is addressed to another member. */
  WrongRecipient: 'WRONG_RECIPIENT',
  /** Fields are missing, inconsistent or out of range. */
  MalformedMessage: 'MALFORMED_MESSAGE',
  /** The caller proved no membership (TLS: no member certificate), or spoke for another member. */
  PeerNotAuthenticated: 'PEER_NOT_AUTHENTICATED',
  /** The sender belongs to another cluster. */
  ClusterMismatch: 'CLUSTER_MISMATCH',
  /** The receiver's data dir lacks the disk space for an incoming snapshot. */
  SnapshotNoSpace: 'SNAPSHOT_NO_SPACE',
  /** The receiver is already receiving as many snapshots as it allows. */
  TooManySnapshots: 'TOO_MANY_SNAPSHOTS',
  /** The snapshot chunks do not form one well-formed transfer. */
  MalformedSnapshot: 'MALFORMED_SNAPSHOT',
  /** The sender was removed from the cluster (ids are never reused): it must stop. */
  MemberRemoved: 'MEMBER_REMOVED',
  /** The key-space hash a peer asked for cannot be given now (revision compacted or ahead, a hash already running). */
  HashUnavailable: 'HASH_UNAVAILABLE',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    /** MemberRemoved: the removed member, named in the refusal's trailer so that it can tell. */
    readonly removedMember?: number,
  ) {
    super(message);
  }
}

/**
 * The trailer of a refusal that tells the sender it was removed from the cluster (etcd's
 * peers answer a removed member likewise). The value is the removed member's id, in decimal:
 * the sender stops only when it names itself.
 */
export const REMOVED_MEMBER_KEY = 'cairn-removed-member';

export function memberRemoved(id: number): TransportError {
  return new TransportError(
    TransportErrorCode.MemberRemoved,
    `member ${id.toString(16)} was removed from the cluster; it must stop (its id is never reused)`,
    id,
  );
}

/** The transport's table from error codes to the status a peer sees. */
const STATUS_BY_CODE: Record<TransportErrorCode, status> = {
  [TransportErrorCode.UnknownMessageType]: status.INVALID_ARGUMENT,
  [TransportErrorCode.LocalMessageType]: status.INVALID_ARGUMENT,
  [TransportErrorCode.WrongRecipient]: status.INVALID_ARGUMENT,
  [TransportErrorCode.MalformedMessage]: status.INVALID_ARGUMENT,
  [TransportErrorCode.MalformedSnapshot]: status.INVALID_ARGUMENT,
  [TransportErrorCode.PeerNotAuthenticated]: status.PERMISSION_DENIED,
  [TransportErrorCode.ClusterMismatch]: status.FAILED_PRECONDITION,
  [TransportErrorCode.SnapshotNoSpace]: status.RESOURCE_EXHAUSTED,
  [TransportErrorCode.TooManySnapshots]: status.RESOURCE_EXHAUSTED,
  [TransportErrorCode.MemberRemoved]: status.FAILED_PRECONDITION,
  [TransportErrorCode.HashUnavailable]: status.FAILED_PRECONDITION,
};

export function grpcStatusOf(code: TransportErrorCode): status {
  return STATUS_BY_CODE[code];
}

export function clusterMismatch(ours: number, theirs: number, from: number): TransportError {
  return new TransportError(
    TransportErrorCode.ClusterMismatch,
    `cluster id mismatch: this member belongs to cluster ${ours}, the sender (member ${from}) to cluster ${theirs} ` +
      '(another --initial-cluster or --initial-cluster-token)',
  );
}
