// Scheduler sampler for finding what takes the servers' core during a bench step.
//   taskset -c 1 node bench/diagnostics/sched-sample.cjs /tmp/samples.jsonl 80000 &
//   BENCH_CHAT_ONLY=service BENCH_ROUNDS=1 npx tsx bench/chat.bench.ts
//   node bench/diagnostics/sched-report.cjs /tmp/samples.jsonl
// Every 10 ms it reads /proc schedstat (time on CPU, time waiting to run, in ns) of every thread
// of the service instances (`dist/main.js`) and of PostgreSQL, Redis and the bench client, and
// writes one JSON line per sample.
const fs = require('node:fs');

const [file, durationArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: sched-sample.cjs <out.jsonl> [duration ms]');
const out = fs.createWriteStream(file);
const duration = Number(durationArg ?? 60_000);
const started = Date.now();

const read = (path) => fs.readFileSync(path, 'utf8');

/** [pid, kind] of the processes worth watching. */
function watched() {
  const found = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = read(`/proc/${pid}/cmdline`);
      const comm = read(`/proc/${pid}/comm`).trim();
      if (cmdline.includes('dist/main.js')) found.push([pid, `svc${pid}`]);
      else if (comm === 'postgres' || comm === 'redis-server') found.push([pid, comm]);
      else if (cmdline.includes('.bench.ts')) found.push([pid, 'client']);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

let processes = watched();
let listedAt = Date.now();
function sample() {
  const now = Date.now();
  if (now - started > duration) return out.end();
  if (now - listedAt > 1000) {
    processes = watched();
    listedAt = now;
  }
  const row = { t: now };
  for (const [pid, kind] of processes) {
    try {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const [run, wait] = read(`/proc/${pid}/task/${tid}/schedstat`).split(' ').map(Number);
        const stat = read(`/proc/${pid}/task/${tid}/stat`);
        const cpu = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
        row[`${pid}/${tid}`] = [`${kind}:${tid === pid ? 'main' : 'thread'}`, run, wait, cpu];
      }
    } catch {
      // the process ended while we looked
    }
  }
  out.write(`${JSON.stringify(row)}\n`);
  setTimeout(sample, 10);
}
sample();
