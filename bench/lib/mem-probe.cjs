// Preloaded (`node --expose-gc -r ./mem-probe.cjs`) into every server a benchmark measures, the
// service and the bare peers alike, so their memory is read the same way: on SIGUSR2 the process
// collects garbage and prints one line the harness parses. Nothing else in the process changes.
'use strict';
process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc();
  const m = process.memoryUsage();
  process.stdout.write(`BENCH_MEM ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed })}\n`);
});
