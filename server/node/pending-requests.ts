/**
 * Requests of this member waiting for something the Raft loop will report later: a
 * proposal waiting to be applied, a read waiting for its read index. Each has a deadline,
 * so that a proposal lost in a leader change fails instead of hanging.
 */
export class PendingRequests<T> {
  private readonly waiting = new Map<number, { resolve: (value: T) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }>();
  private nextId: number;

  /** `firstId`: see request-ids.ts; ids must not repeat across restarts of the member. */
  constructor(firstId: number) {
    this.nextId = firstId;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Registers a request; returns its id and a promise settled by resolve/reject/timeout. */
  register(timeoutMs: number, onTimeout: () => Error): { id: number; done: Promise<T> } {
    const id = this.nextId++;
    const done = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(onTimeout());
      }, timeoutMs);
      timer.unref();
      this.waiting.set(id, { resolve, reject, timer });
    });
    return { id, done };
  }

  resolve(id: number, value: T): void {
    const entry = this.waiting.get(id);
    if (entry === undefined) return;
    this.waiting.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(value);
  }

  reject(id: number, err: unknown): void {
    const entry = this.waiting.get(id);
    if (entry === undefined) return;
    this.waiting.delete(id);
    clearTimeout(entry.timer);
    entry.reject(err);
  }

  rejectAll(err: unknown): void {
    for (const id of [...this.waiting.keys()]) this.reject(id, err);
  }
}
