// Reads sched-sample.cjs output: CPU per process and thread kind over the capture, then the
// 100 ms windows in which the service instances' main threads waited longest to run, with who
// ran in them (name:ms@cpu).
const fs = require('node:fs');

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));
const delta = (a, b, key, field) => (b[key][field] - a[key][field]) / 1e6;

const total = new Map();
for (let i = 0; i + 1 < rows.length; i++) {
  const [a, b] = [rows[i], rows[i + 1]];
  for (const key of Object.keys(b)) {
    if (key === 't' || a[key] === undefined) continue;
    total.set(b[key][0], (total.get(b[key][0]) ?? 0) + delta(a, b, key, 1));
  }
}
const byKind = new Map();
for (const [name, ms] of total) {
  const kind = name.replace(/^svc\d+/, 'svc');
  byKind.set(kind, (byKind.get(kind) ?? 0) + ms);
}
console.log('CPU ms by kind over the capture:');
for (const [kind, ms] of [...byKind].sort((x, y) => y[1] - x[1]))
  console.log(`  ${ms.toFixed(0)} ${kind}`);

const windows = [];
for (let i = 0; i < rows.length; i++) {
  let j = i;
  while (j < rows.length && rows[j].t - rows[i].t < 100) j++;
  if (j >= rows.length) break;
  const [a, b] = [rows[i], rows[j]];
  const mains = Object.keys(b).filter((k) => /^svc\d+:main$/.test(b[k][0]) && a[k] !== undefined);
  if (mains.length === 0) continue;
  const wait = mains.reduce((sum, k) => sum + delta(a, b, k, 2), 0);
  const ran = Object.keys(b)
    .filter((k) => k !== 't' && a[k] !== undefined && delta(a, b, k, 1) > 3)
    .map((k) => `${b[k][0]}:${delta(a, b, k, 1).toFixed(0)}@cpu${b[k][3]}`);
  windows.push({ at: new Date(a.t).toISOString().slice(11, 23), wait: Math.round(wait), ran });
}
windows.sort((x, y) => y.wait - x.wait);
console.log('100 ms windows with the longest run-queue wait of the main threads:');
for (const w of windows.slice(0, 12))
  console.log(`  ${w.at} wait ${w.wait} ms; ran: ${w.ran.join(' ')}`);
