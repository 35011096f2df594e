/**
 * A cluster of real `cairn serve` processes on loopback for chaos runs. Clients dial each
 * member's real port; peers dial through one LinkProxy per directed pair, so partitions can
 * be cut per link. This works because the cluster id derives from member names only (see
 * server/node/cluster-config.ts), so every member gets its own --initial-cluster addresses.
 * Members added later (the membership nemesis: MemberAdd, then `cairn serve --join`) are
 * dialled on their real port by everyone: MemberAdd records one address per member, so
 * partitions cut only the links between the members the cluster started with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/free-port.js';
import { CAIRN_BIN } from '../../helpers/node-process.js';
import { LinkProxy } from './proxy.js';

/**
 * Only stops a member that will not start. Generous: a chaos run restarts every member at
 * once, and on a shared two-core machine (load 30) one start alone took 21 s.
 */
const READY_TIMEOUT_MS = 120_000;

export interface ClusterOptions {
  readonly members: number;
  readonly engine: 'rocksdb' | 'leveldb';
  /** Extra `cairn serve` flags for every member. */
  readonly args?: readonly string[];
}

export class Member {
  child: ChildProcess | undefined;
  /** True while SIGSTOPped. */
  paused = false;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
    readonly logPath: string,
    private readonly args: readonly string[],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the member and resolves once it printed "serving on". */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.log ??= createWriteStream(this.logPath, { flags: 'a' });
    const log = this.log;
    log.write(`--- start ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [CAIRN_BIN, 'serve', ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        log.write(`--- exit ${code ?? signal} ${new Date().toISOString()}\n`);
        resolve();
      }),
    );
    child.stderr.pipe(log, { end: false });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`${this.name} not serving within ${READY_TIMEOUT_MS} ms (log ${this.logPath})`)),
        READY_TIMEOUT_MS,
      );
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        log.write(chunk);
        out += chunk;
        if (out.includes('serving on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before serving (log ${this.logPath})`));
      });
    });
  }

  /** kill -9, waiting for the exit. */
  async kill(): Promise<void> {
    if (this.running) this.child!.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  pause(): void {
    if (this.running && !this.paused) {
      this.child!.kill('SIGSTOP');
      this.paused = true;
    }
  }

  resume(): void {
    if (this.running && this.paused) this.child!.kill('SIGCONT');
    this.paused = false;
  }

  async closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }
}

export class ChaosCluster {
  /** Members removed from the cluster: stopped, kept for their logs and data. */
  readonly departed: Member[] = [];
  /** The members the cluster started with, whose peer links go through proxies. */
  readonly founders: ReadonlySet<string>;
  private added = 0;

  private constructor(
    readonly dir: string,
    /** The current members (voters and learners), in the order they joined. */
    readonly members: Member[],
    /** Keyed by `${from}->${to}`. */
    readonly proxies: ReadonlyMap<string, LinkProxy>,
    /** `cairn serve` flags every member gets besides its name, address and data dir. */
    private readonly commonArgs: readonly string[],
  ) {
    this.founders = new Set(members.map((m) => m.name));
  }

  /**
   * A member to be added: a fresh name (never reused: ids are not), a free port, an empty
   * data dir, and `--join` through the current members. Not started, not yet a member.
   */
  async newMember(): Promise<Member> {
    const name = `a${++this.added}`;
    const port = await freePort();
    const dataDir = join(this.dir, name);
    await mkdir(dataDir);
    const join_ = this.members.map((m) => m.address).join(',');
    const args = ['--name', name, '--listen', `127.0.0.1:${port}`, '--join', join_, '--data-dir', dataDir, ...this.commonArgs];
    return new Member(name, port, dataDir, join(this.dir, `${name}.log`), args);
  }

  /** Counts a member added with MemberAdd among the current ones. */
  admit(member: Member): void {
    this.members.push(member);
  }

  /** A member removed with MemberRemove: no longer current (stop it with kill()). */
  retire(name: string): Member {
    const i = this.members.findIndex((m) => m.name === name);
    if (i < 0) throw new Error(`no member ${name}`);
    const [m] = this.members.splice(i, 1);
    this.departed.push(m!);
    return m!;
  }

  static async create(options: ClusterOptions): Promise<ChaosCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-chaos-'));
    const names = Array.from({ length: options.members }, (_, i) => `n${i + 1}`);
    const ports = new Map<string, number>();
    for (const name of names) ports.set(name, await freePort());
    const proxies = new Map<string, LinkProxy>();
    for (const from of names) {
      for (const to of names) {
        if (from === to) continue;
        const proxy = new LinkProxy(from, to, ports.get(to)!);
        await proxy.listen();
        proxies.set(proxy.name, proxy);
      }
    }
    const members: Member[] = [];
    // Each chaos cluster is its own: a token of its own gives it a cluster id no other has.
    const token = `chaos-${randomBytes(8).toString('hex')}`;
    const commonArgs = ['--engine', options.engine, ...(options.args ?? [])];
    for (const name of names) {
      const initialCluster = names
        .map((peer) => `${peer}=127.0.0.1:${peer === name ? ports.get(peer)! : proxies.get(`${name}->${peer}`)!.port}`)
        .join(',');
      const dataDir = join(dir, name);
      await mkdir(dataDir);
      const args = [
        '--name',
        name,
        '--listen',
        `127.0.0.1:${ports.get(name)!}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-token',
        token,
        '--data-dir',
        dataDir,
        ...commonArgs,
      ];
      members.push(new Member(name, ports.get(name)!, dataDir, join(dir, `${name}.log`), args));
    }
    const cluster = new ChaosCluster(dir, members, proxies, commonArgs);
    try {
      await Promise.all(members.map((m) => m.start()));
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** Cuts traffic that `from` initiates to `to`. */
  link(from: string, to: string): LinkProxy {
    return this.proxies.get(`${from}->${to}`)!;
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        this.link(x, y).block();
        this.link(y, x).block();
      }
    }
  }

  healNetwork(): void {
    for (const p of this.proxies.values()) p.heal();
  }

  /** Resumes paused members and starts stopped ones. */
  async healAll(): Promise<void> {
    this.healNetwork();
    for (const m of this.members) m.resume();
    await Promise.all(this.members.filter((m) => !m.running).map((m) => m.start()));
  }

  /** Kills every process and proxy this cluster started (by pid); keeps the directory. */
  async destroy(): Promise<void> {
    const all = [...this.members, ...this.departed];
    await Promise.all(all.map((m) => m.kill()));
    await Promise.all(all.map((m) => m.closeLog()));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}
