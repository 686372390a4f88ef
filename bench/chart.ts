// A plain SVG chart of latency distributions: panels side by side, each a
// cumulative distribution (x: latency on a log scale, y: share of samples at
// or below it) with one line per target. No charting library: the lines are
// polylines of the whole percentiles 1…100 a benchmark records.

export interface Series {
  name: string;
  /** Latency in ms at percentiles 1…100. */
  cdf: number[];
  color: string;
}

export interface Panel {
  title: string;
  subtitle: string;
  series: Series[];
}

const WIDTH = 400;
const HEIGHT = 300;
const MARGIN = { left: 48, right: 14, top: 52, bottom: 40 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

const xmlText = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const tickLabel = (value: number) => (value >= 1000 ? `${value / 1000} s` : `${value} ms`);

function panel(spec: Panel, offsetX: number): string {
  const values = spec.series.flatMap((series) => series.cdf).filter((value) => value > 0);
  const low = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values, 1))));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));
  const x = (ms: number) =>
    MARGIN.left +
    ((Math.log10(Math.max(ms, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * PLOT_W;
  const y = (percent: number) => MARGIN.top + PLOT_H - (percent / 100) * PLOT_H;
  const parts: string[] = [`<g transform="translate(${offsetX},0)">`];
  parts.push(
    `<text x="${MARGIN.left}" y="18" font-size="13" font-weight="bold">${xmlText(spec.title)}</text>`,
    `<text x="${MARGIN.left}" y="34" font-size="11" fill="#555">${xmlText(spec.subtitle)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#999"/>`,
  );
  for (let tick = low; tick <= high; tick *= 10) {
    const at = x(tick).toFixed(1);
    parts.push(
      `<line x1="${at}" y1="${MARGIN.top}" x2="${at}" y2="${MARGIN.top + PLOT_H}" stroke="#e4e4e4"/>`,
      `<text x="${at}" y="${MARGIN.top + PLOT_H + 14}" font-size="10" text-anchor="middle">${tickLabel(tick)}</text>`,
    );
  }
  for (const percent of [0, 25, 50, 75, 90, 100]) {
    const at = y(percent).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${at}" x2="${MARGIN.left + PLOT_W}" y2="${at}" stroke="#e4e4e4"/>`,
      `<text x="${MARGIN.left - 4}" y="${at}" font-size="10" text-anchor="end" dominant-baseline="middle">${percent}%</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 8}" font-size="10" text-anchor="middle">latency (log scale)</text>`,
  );
  const shown = spec.series.filter((series) => series.cdf.length > 0);
  for (const series of shown) {
    const points = series.cdf.map((ms, i) => `${x(ms).toFixed(1)},${y(i + 1).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
  }
  // The legend sits bottom right, where a distribution's line seldom is, over a veil.
  const legendX = MARGIN.left + PLOT_W - 160;
  const legendY = MARGIN.top + PLOT_H - 10 - shown.length * 15;
  parts.push(
    `<rect x="${legendX - 4}" y="${legendY + 2}" width="162" height="${shown.length * 15 + 4}" fill="#fff" fill-opacity="0.85"/>`,
  );
  shown.forEach((series, index) => {
    parts.push(
      `<rect x="${legendX}" y="${legendY + 8 + index * 15}" width="10" height="3" fill="${series.color}"/>`,
      `<text x="${legendX + 14}" y="${legendY + 12 + index * 15}" font-size="10">${xmlText(series.name)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** The panels side by side, with a caption line (provenance) at the bottom. */
export function latencyChart(panels: Panel[], caption: string): string {
  const width = WIDTH * panels.length;
  const height = HEIGHT + 22;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img">`,
    `<title>${xmlText(panels.map((spec) => spec.title).join('; '))}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...panels.map((spec, index) => panel(spec, index * WIDTH)),
    `<text x="8" y="${height - 6}" font-size="10" fill="#555">${xmlText(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
