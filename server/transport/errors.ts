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
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
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
