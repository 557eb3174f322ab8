/**
 * A line chart as SVG, rasterised to PNG by the same headless Chromium the browser tests use:
 * no plotting library or native canvas build needed. The y axis is logarithmic because latency
 * spans from a millisecond to seconds once a server saturates.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from '../../test/helpers/browser';
import { RESULTS_DIR } from './results';

export interface Series {
  name: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  threshold?: { y: number; label: string };
}

const W = 900;
const H = 520;
const M = { left: 80, right: 210, top: 50, bottom: 60 };

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chartSvg(chart: Chart): string {
  const all = chart.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && y > 0);
  const xMax = Math.max(...all.map(([x]) => x), 1);
  const yMin =
    10 **
    Math.floor(Math.log10(Math.min(...all.map(([, y]) => y), chart.threshold?.y ?? Infinity)));
  const yMax =
    10 ** Math.ceil(Math.log10(Math.max(...all.map(([, y]) => y), chart.threshold?.y ?? 0)));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number): number => M.left + (v / xMax) * pw;
  const y = (v: number): number =>
    M.top +
    ph -
    ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) *
      ph;
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(
    `<text x="${W / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (let d = yMin; d <= yMax; d *= 10) {
    parts.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${M.left - 8}" y="${y(d) + 4}" text-anchor="end" font-size="12">${d >= 1 ? d : d.toPrecision(1)}</text>`,
    );
  }
  const xStep =
    10 ** Math.floor(Math.log10(xMax)) / (xMax / 10 ** Math.floor(Math.log10(xMax)) < 3 ? 2 : 1);
  for (let v = 0; v <= xMax; v += xStep) {
    parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`);
    parts.push(
      `<text x="${x(v)}" y="${M.top + ph + 18}" text-anchor="middle" font-size="12">${v.toLocaleString('en')}</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${M.left + pw / 2}" y="${H - 15}" text-anchor="middle" font-size="13">${escapeXml(chart.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${escapeXml(chart.yLabel)}</text>`,
  );
  if (chart.threshold !== undefined) {
    const ty = y(chart.threshold.y);
    parts.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${ty}" y2="${ty}" stroke="#c00" stroke-dasharray="2 4"/>`,
    );
    parts.push(
      `<text x="${M.left + pw - 4}" y="${ty - 5}" text-anchor="end" font-size="12" fill="#c00">${escapeXml(chart.threshold.label)}</text>`,
    );
  }
  chart.series.forEach((s, i) => {
    const pts = s.points.filter(([, v]) => Number.isFinite(v));
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2.5"${dash} points="${pts.map(([a, b]) => `${x(a)},${y(b)}`).join(' ')}"/>`,
    );
    for (const [a, b] of pts)
      parts.push(`<circle cx="${x(a)}" cy="${y(b)}" r="3.5" fill="${s.color}"/>`);
    const ly = M.top + 20 + i * 24;
    parts.push(
      `<line x1="${W - M.right + 15}" x2="${W - M.right + 45}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${dash}/>`,
    );
    parts.push(
      `<text x="${W - M.right + 52}" y="${ly + 4}" font-size="13">${escapeXml(s.name)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Writes `<name>` (PNG) and the same chart as SVG next to it under bench/results/. */
export async function renderChart(name: string, chart: Chart): Promise<void> {
  const svg = chartSvg(chart);
  writeFileSync(join(RESULTS_DIR, name.replace(/\.png$/, '.svg')), svg);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    await page.setContent(`<!doctype html><body style="margin:0">${svg}</body>`);
    await page.screenshot({
      path: join(RESULTS_DIR, name),
      clip: { x: 0, y: 0, width: W, height: H },
    });
  } finally {
    await browser.close();
  }
}
