/**
 * A fault-injecting TCP proxy for one directed peer link (member `from` dialing member `to`).
 * Each member reaches each peer through its own proxy, so a link can be cut in one direction
 * (the traffic `from` initiates, replies included) without touching the others.
 */
import net from 'node:net';

export class LinkProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private blocked = false;
  private delayMs = 0;
  port = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    private readonly targetPort: number,
  ) {}

  get name(): string {
    return `${this.from}->${this.to}`;
  }

  async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Cuts every open connection and refuses new ones (they are accepted, then reset). */
  block(): void {
    this.blocked = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Resets the open connections but accepts new ones: a flaky link. */
  drop(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  /** Delays every chunk in both directions by ms (0 to stop); order is kept. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  heal(): void {
    this.blocked = false;
    this.delayMs = 0;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.blocked) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined); // either side closing is normal here
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(src: net.Socket, dst: net.Socket): void {
    // Chunks wait in order; a delay change never reorders bytes of the stream.
    const queue: { chunk: Buffer; at: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) if (!dst.destroyed) dst.write(queue.shift()!.chunk);
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - Date.now());
    };
    src.on('data', (chunk: Buffer) => {
      if (this.delayMs === 0 && queue.length === 0) {
        dst.write(chunk);
        return;
      }
      queue.push({ chunk, at: Date.now() + this.delayMs });
      if (timer === undefined) pump();
    });
    src.on('close', () => clearTimeout(timer));
  }
}
