import { fdatasync, write } from 'node:fs';

/*
 * The two calls a synced save makes per round through libuv's pool, in their callback form.
 * Measured in a process alone (bench/synced-save.ts), FileHandle's promise forms cost the
 * main thread 4-8 µs more per call (a promise-wrapped request, a reference count on the handle
 * taken and dropped around it) on top of the 15-20 µs every pool round trip costs there. The
 * callers keep their FileHandle for its lifetime and close; only these calls go by its fd.
 */

/** fdatasync(2) of an open file, on the pool. */
export function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
}

/** pwrite(2) of `length` bytes of `buffer` at `position`, on the pool; resolves with the bytes written. */
export function writeAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, buffer, 0, length, position, (error, written) => (error === null ? resolve(written) : reject(error))),
  );
}
