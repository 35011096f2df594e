/**
 * The cost of the bridge a multi-threaded member would put in front of its Raft/store thread
 * (docs/process-model.md): a worker thread echoes byte arrays of a request's size over a
 * MessagePort. Prints the round trip one at a time, and the CPU per message of each thread
 * with 64 in flight (the load generator's clients).
 *
 *   npx tsx bench/message-port-rtt.ts [--bytes 300] [--messages 200000]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MessageChannel, Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { bytes: { type: 'string', default: '300' }, messages: { type: 'string', default: '200000' } } });
const bytes = Number(values.bytes);
const messages = Number(values.messages);

// The echo side: answers every message with a copy of what it got, as a store thread would
// answer with a response of about the same size.
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   parentPort.once('message', (port) => {
     port.on('message', (m) => port.postMessage(m));
     parentPort.postMessage('ready');
   });
   const { readFileSync } = require('node:fs');
   ${threadCpuUs.toString()}
   setInterval(() => parentPort.postMessage({ cpu: threadCpuUs() }), 100).unref();`,
  { eval: true },
);
/**
 * CPU time of the calling thread in µs (Linux: /proc/thread-self/stat, in clock ticks of
 * 10 ms), where process.cpuUsage() would count every thread of the process.
 */
function threadCpuUs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime, stime
}

const { port1, port2 } = new MessageChannel();
worker.postMessage(port2, [port2]);
await new Promise((resolve) => worker.once('message', resolve));
let workerCpu = 0;
worker.on('message', (m: { cpu?: number }) => {
  if (m.cpu !== undefined) workerCpu = m.cpu;
});

const payload = new Uint8Array(bytes).fill(7);

async function run(inFlight: number, count: number): Promise<{ seconds: number; mainCpuUs: number }> {
  const cpu0 = threadCpuUs();
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let received = 0;
    port1.on('message', () => {
      received++;
      if (received === count) {
        port1.removeAllListeners('message');
        resolve();
      } else if (sent < count) {
        sent++;
        port1.postMessage(payload);
      }
    });
    for (; sent < Math.min(inFlight, count); sent++) port1.postMessage(payload);
  });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, mainCpuUs: threadCpuUs() - cpu0 };
}

await run(64, 20_000); // warm-up
const serial = await run(1, Math.min(messages, 50_000));
console.log(
  `${bytes}-byte messages, load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`one at a time: ${((serial.seconds / Math.min(messages, 50_000)) * 1e6).toFixed(1)} µs per round trip`);
await new Promise((r) => setTimeout(r, 300));
const w0 = workerCpu;
const piped = await run(64, messages);
await new Promise((r) => setTimeout(r, 300)); // the worker's next CPU report
const workerUs = workerCpu - w0;
console.log(
  `64 in flight: ${Math.round(messages / piped.seconds)} round trips/s; CPU per round trip: ` +
    `${(piped.mainCpuUs / messages).toFixed(1)} µs on the sending thread, ${(workerUs / messages).toFixed(1)} µs on the echoing one`,
);
await worker.terminate();
