/**
 * Reassembles the data of one incoming snapshot, refusing it as soon as it is known to
 * exceed the limit: up front when the sender announced the size, otherwise the moment the
 * received bytes pass it. Memory held is bounded by `maxBytes` either way, and an announced
 * size is filled in place so the data is not held twice while being joined.
 *
 * The transfer counts as complete only when the sender's end marker arrives with the final
 * size (see snapshot-sender.ts). The end of the call is not enough: grpc-js reports a
 * cancelled client stream to the handler as a normal end first, and a cut-short snapshot
 * must never be installed.
 */
import { TransportError, TransportErrorCode } from './errors.js';

export class SnapshotAssembly {
  private readonly pieces: Buffer[] = [];
  /** Allocated on the first data when the size was announced (after the limit check). */
  private whole: Buffer | undefined = undefined;
  private received = 0;
  private sealed = false;

  /** `totalBytes` 0 means the sender did not know the size in advance. */
  constructor(
    private readonly totalBytes: number,
    private readonly maxBytes: number,
    private readonly what: string,
  ) {
    if (totalBytes > maxBytes) throw tooLarge(what, `announced ${totalBytes} bytes`, maxBytes);
  }

  add(data: Buffer): void {
    if (this.sealed) throw this.malformed('data after the end marker');
    if (data.byteLength === 0) return;
    this.received += data.byteLength;
    if (this.received > this.maxBytes) throw tooLarge(this.what, `more than ${this.maxBytes} bytes arrived`, this.maxBytes);
    if (this.totalBytes > 0 && this.received > this.totalBytes)
      throw this.malformed(`more data than the ${this.totalBytes} bytes announced`);
    if (this.totalBytes > 0) {
      this.whole ??= Buffer.allocUnsafe(this.totalBytes);
      data.copy(this.whole, this.received - data.byteLength);
    } else {
      this.pieces.push(data);
    }
  }

  /** The end marker: the sender's count of the bytes it sent. */
  seal(finalBytes: number): void {
    if (this.sealed) throw this.malformed('a second end marker');
    if (finalBytes !== this.received) throw this.malformed(`the sender sent ${finalBytes} bytes but ${this.received} arrived`);
    if (this.totalBytes > 0 && finalBytes !== this.totalBytes)
      throw this.malformed(`${finalBytes} bytes sent, ${this.totalBytes} announced`);
    this.sealed = true;
  }

  /** The complete data; throws unless the end marker arrived (a cut-short transfer). */
  finish(): Buffer {
    if (!this.sealed) throw this.malformed(`the transfer ended without its end marker after ${this.received} bytes (cut short?)`);
    if (this.whole !== undefined) return this.whole;
    return this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.received);
  }

  private malformed(detail: string): TransportError {
    return new TransportError(TransportErrorCode.MalformedSnapshot, `${this.what}: ${detail}`);
  }
}

function tooLarge(what: string, detail: string, maxBytes: number): TransportError {
  return new TransportError(TransportErrorCode.SnapshotTooLarge, `${what}: ${detail}; the limit is ${maxBytes} bytes (max snapshot size)`);
}
