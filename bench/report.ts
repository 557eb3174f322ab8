/**
 * Gathers the scenarios' Markdown tables into bench/results/summary.md and into
 * docs/benchmarks.md between the `bench:begin` / `bench:end` markers, with the machine they ran
 * on, so the page always shows the latest run rather than hand-copied figures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Machine } from './lib/machine';
import { RESULTS_DIR } from './lib/results';

const SCENARIOS: { file: string; title: string; image?: string }[] = [
  { file: 'chat', title: '1. Chat across instances', image: 'chat-latency.png' },
  { file: 'broadcast', title: '2. Broadcast fan-out' },
  { file: 'sse-fanout', title: '3. SSE fan-out and memory' },
  { file: 'reminder', title: '4. Weekly reminder at 1,000,000 users' },
  { file: 'transports', title: '5. The transports compared' },
  { file: 'idle-sockets', title: '6. Memory per idle socket' },
  { file: 'scaleout', title: '7. Scale-out: four instances, interest routing' },
  { file: 'push', title: '8. Web Push burst to offline users' },
];

const PAGE = resolve(__dirname, '..', 'docs', 'benchmarks.md');
const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

function section(linkBase: string): string {
  const parts: string[] = [];
  let machine: Machine | undefined;
  for (const s of SCENARIOS) {
    const json = join(RESULTS_DIR, `${s.file}.json`);
    if (!existsSync(json)) {
      parts.push(`#### ${s.title}\n\nNot run yet.`);
      continue;
    }
    const result = JSON.parse(readFileSync(json, 'utf8')) as { machine?: Machine; at?: string };
    machine ??= result.machine;
    const md = readFileSync(join(RESULTS_DIR, `${s.file}.md`), 'utf8').trim();
    const image = s.image !== undefined ? `\n\n![${s.title}](${linkBase}${s.image})` : '';
    parts.push(
      `#### ${s.title}\n\n${md}${image}\n\n<sub>run ${result.at ?? 'at an unknown time'}</sub>`,
    );
  }
  const where =
    machine === undefined
      ? ''
      : `Machine: ${machine.cpus} cores (${machine.model}), ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
        `servers pinned to core ${machine.serverCores}, the load client to core ${machine.clientCores}; ` +
        'PostgreSQL and Redis are the machine’s own, unpinned.\n\n';
  return `${where}${parts.join('\n\n')}`;
}

writeFileSync(join(RESULTS_DIR, 'summary.md'), `# Benchmark results\n\n${section('')}\n`);
const page = readFileSync(PAGE, 'utf8');
const begin = page.indexOf(BEGIN);
const end = page.indexOf(END);
if (begin < 0 || end < begin)
  throw new Error(`docs/benchmarks.md has no ${BEGIN} ... ${END} section`);
writeFileSync(
  PAGE,
  `${page.slice(0, begin + BEGIN.length)}\n${section('../bench/results/')}\n${page.slice(end)}`,
);
console.log('bench/results/summary.md and docs/benchmarks.md updated');
