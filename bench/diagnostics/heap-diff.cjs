// Per-connection heap, by what V8 allocated: the difference between two heap snapshots of one
// server (taken with N fewer and N more connections open, everything else equal), per
// constructor or node type, divided by N. This is what found what an idle socket and an open
// stream hold beyond a bare server's (docs/benchmarks.md).
//
//   BENCH_SERVICE_NODE_FLAGS='--heapsnapshot-signal=SIGURG'  (a peer: NODE_OPTIONS, same flag)
//   kill -URG <server pid>   (once before opening the N connections, once after; the server
//                             writes Heap.*.heapsnapshot into its working directory)
//   node --max-old-space-size=12000 bench/diagnostics/heap-diff.cjs before.heapsnapshot after.heapsnapshot N [rows]
'use strict';
const fs = require('fs');
function load(file) {
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  const f = s.snapshot.meta.node_fields; const types = s.snapshot.meta.node_types[0];
  const n = f.length; const nodes = s.nodes; const str = s.strings;
  const iT = f.indexOf('type'), iN = f.indexOf('name'), iS = f.indexOf('self_size');
  const agg = new Map();
  for (let i = 0; i < nodes.length; i += n) {
    const t = types[nodes[i + iT]];
    let name = t === 'object' || t === 'closure' || t === 'native' || t==='hidden' || t==='code' || t==='object shape' ? str[nodes[i + iN]] : '';
    if (t==='code' || t==='hidden'|| t==='object shape') name = name.slice(0, 40);
    const k = t + ' ' + name;
    const a = agg.get(k) ?? [0, 0]; a[0]++; a[1] += nodes[i + iS]; agg.set(k, a);
  }
  return agg;
}
const [a, b] = [load(process.argv[2]), load(process.argv[3])]; const N = Number(process.argv[4]);
const rows = [];
for (const [k, v] of b) { const o = a.get(k) ?? [0, 0]; rows.push([k, (v[0] - o[0]) / N, (v[1] - o[1]) / N]); }
rows.sort((x, y) => y[2] - x[2]);
let tot = 0; for (const r of rows) tot += r[2];
console.log('total bytes/conn', tot.toFixed(0));
for (const r of rows.slice(0, Number(process.argv[5] ?? 40))) console.log(r[2].toFixed(1).padStart(8), r[1].toFixed(2).padStart(6), r[0]);
