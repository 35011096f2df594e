/**
 * Who may use an engine's database handle, for the rebuild that replaces it
 * (engine-rebuild.ts): as etcd's defragment does, writes are held back for the whole copy
 * (the copy must be the store at one moment), and while the handle itself is swapped
 * nothing may touch it (the old database closes, the new one opens in its place).
 *
 * Every use of the handle is short: one get, one batch write (and its WAL sync), one
 * iterator step. A scan is not one use but many: it holds the gate only while it steps its
 * iterator, never while its consumer works on an entry, so a consumer that writes between
 * two entries (the MVCC compactor) cannot deadlock with a rebuild that waits for readers.
 */
export class EngineGate {
  private users = 0;
  private writers = 0;
  private writesHeld: Promise<void> | undefined;
  private releaseWrites: (() => void) | undefined;
  private swapping: Promise<void> | undefined;
  private releaseSwap: (() => void) | undefined;
  private idle: (() => void) | undefined;

  /** Runs `use` with the handle, once no swap is under way. */
  async read<T>(use: () => Promise<T>): Promise<T> {
    while (this.swapping !== undefined) await this.swapping;
    this.users++;
    try {
      return await use();
    } finally {
      this.leave(false);
    }
  }

  /** Runs `use` (a write) with the handle, once writes are not held back. */
  async write<T>(use: () => Promise<T>): Promise<T> {
    while (this.writesHeld !== undefined || this.swapping !== undefined) await (this.writesHeld ?? this.swapping);
    this.users++;
    this.writers++;
    try {
      return await use();
    } finally {
      this.leave(true);
    }
  }

  /** Holds back every later write and resolves once the writes under way finished. */
  async holdWrites(): Promise<void> {
    if (this.writesHeld !== undefined) throw new Error('writes are held back already');
    this.writesHeld = new Promise((resolve) => (this.releaseWrites = resolve));
    await this.until(() => this.writers === 0);
  }

  /** Lets the held-back writes go on. */
  resumeWrites(): void {
    const release = this.releaseWrites;
    this.writesHeld = undefined;
    this.releaseWrites = undefined;
    release?.();
  }

  /** Holds back every later use and resolves once the uses under way finished. */
  async holdAll(): Promise<void> {
    if (this.swapping !== undefined) throw new Error('the handle is held already');
    this.swapping = new Promise((resolve) => (this.releaseSwap = resolve));
    await this.until(() => this.users === 0);
  }

  /** Lets the held-back uses go on (writes only once resumeWrites() was called too). */
  resumeAll(): void {
    const release = this.releaseSwap;
    this.swapping = undefined;
    this.releaseSwap = undefined;
    release?.();
  }

  private leave(writer: boolean): void {
    this.users--;
    if (writer) this.writers--;
    this.idle?.();
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = undefined;
  }
}
