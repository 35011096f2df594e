/**
 * Preloaded into a Cairn member (`node --import ./bench/alloc-sampler.mjs`) by
 * bench/profile-member.sh --alloc-profile: samples where the member allocates, garbage
 * included. `node --heap-prof` cannot show that: V8's sampling heap profiler drops a sample
 * when its object is collected unless told otherwise, so a heap profile only shows what is
 * still alive at exit, not the short-lived objects each request allocates and the
 * scavenger then frees.
 *
 * The first SIGUSR2 starts sampling (every CAIRN_ALLOC_INTERVAL bytes on average, 4096 unless
 * told), the second stops it and writes CAIRN_ALLOC_OUT (a .heapprofile, read by
 * bench/alloc-sites.ts), so that only the measured run is sampled.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const out = process.env.CAIRN_ALLOC_OUT ?? `alloc-${process.pid}.heapprofile`;
const samplingInterval = Number(process.env.CAIRN_ALLOC_INTERVAL ?? 4096);
const session = new Session();
session.connect();
let sampling = false;

// A session on the main thread answers synchronously, so the profile is written before the
// handler returns.
process.on('SIGUSR2', () => {
  if (!sampling) {
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', {
      samplingInterval,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    sampling = true;
    return;
  }
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) throw error;
    writeFileSync(out, JSON.stringify(result.profile));
  });
  sampling = false;
});
