/** Each scenario writes `bench/results/<name>.json` (figures + machine) and `<name>.md` (its table). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine } from './machine';

export const RESULTS_DIR = join(__dirname, '..', 'results');

export function writeResult(name: string, figures: object, markdown: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = { scenario: name, ...figures, machine: machine(), at: new Date().toISOString() };
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), `${markdown.trim()}\n`);
  console.log(markdown);
}

/** A Markdown table from a header row and body rows. */
export function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** ours / theirs as `1.23x`, or `n/a` when either side measured nothing. */
export const ratio = (ours: number, theirs: number): string =>
  Number.isFinite(ours) && Number.isFinite(theirs) && theirs > 0
    ? `${(ours / theirs).toFixed(2)}x`
    : 'n/a';
