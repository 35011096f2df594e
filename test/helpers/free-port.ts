/**
 * Ports for processes a test starts later (a member whose address its peers must know before
 * it listens, a metrics or Prometheus port).
 *
 * A port is drawn at random below the kernel's ephemeral range (net.ipv4.ip_local_port_range).
 * The kernel hands out ports from that range for every `listen(0)` and every outgoing
 * connection, and the suite makes thousands of both. A port taken from there and released was
 * seen handed to another socket before the member bound it (EADDRINUSE in CI).
 *
 * Below that range, only another test picking the same port could collide. So each port is
 * reserved across the suite's processes by a file created exclusively under the temp dir,
 * naming the process. A reservation whose process is gone is taken over, and each candidate
 * must also be bindable now.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The lowest port drawn: clear of well-known services and of the ports bench/ uses by default (24000+). */
const LOWEST = 26_000;
const RESERVATIONS = join(tmpdir(), 'cairn-test-ports');

/** The first port of the kernel's ephemeral range (32768 unless configured otherwise). */
function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > LOWEST + 1000 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGHEST = ephemeralStart() - 1;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reserves `port` for this process; false when a live process holds it. */
function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      // Removed meanwhile: try to create it again.
    }
    // A reservation being written (empty for a moment) or held by a live process stands.
    if (!Number.isInteger(holder) || holder === 0 || alive(holder)) return false;
    try {
      unlinkSync(file);
    } catch {
      // Another process took the stale reservation over first; the next create decides.
    }
  }
  return false;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A loopback port no other test of this run is given, free now; the caller binds it a moment later. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (!reserve(port)) continue;
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${HIGHEST} after 1000 tries`);
}
