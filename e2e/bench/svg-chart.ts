// A small line chart as an SVG document, for the soak's series: one panel per series, minutes on the
// x axis, each panel's own y range (from 0) with its unit. Pure: text in, text out.

export interface Series {
  name: string;
  unit: string;
  points: readonly { x: number; y: number }[];
}

const WIDTH = 640;
const PANEL = 140;
const LEFT = 60;
const RIGHT = 20;
const TOP = 24;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const round = (n: number) => Math.round(n * 10) / 10;

export function svgChart(title: string, series: readonly Series[], xLabel = 'minutes'): string {
  const height = TOP + series.length * (PANEL + 30) + 20;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const xMax = Math.max(1, ...xs);
  const plotWidth = WIDTH - LEFT - RIGHT;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${LEFT}" y="16" font-size="13">${escapeXml(title)}</text>`,
  ];
  series.forEach((s, index) => {
    const top = TOP + index * (PANEL + 30) + 10;
    const yMax = Math.max(...s.points.map((p) => p.y), 0) * 1.1 || 1;
    const px = (x: number) => round(LEFT + (x / xMax) * plotWidth);
    const py = (y: number) => round(top + PANEL - (y / yMax) * PANEL);
    parts.push(
      `<text x="${LEFT}" y="${top - 2}">${escapeXml(`${s.name} (${s.unit})`)}</text>`,
      `<line x1="${LEFT}" y1="${top + PANEL}" x2="${WIDTH - RIGHT}" y2="${top + PANEL}" stroke="#888"/>`,
      `<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${top + PANEL}" stroke="#888"/>`,
      `<text x="${LEFT - 4}" y="${top + 8}" text-anchor="end">${round(yMax)}</text>`,
      `<text x="${LEFT - 4}" y="${top + PANEL}" text-anchor="end">0</text>`,
      `<text x="${WIDTH - RIGHT}" y="${top + PANEL + 14}" text-anchor="end">${round(xMax)} ${escapeXml(xLabel)}</text>`,
    );
    if (s.points.length > 0) {
      const path = s.points.map((p) => `${px(p.x)},${py(p.y)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${path}"/>`);
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Whether every value of the last `fraction` of `values` lies within ±`tolerance` of their mean. */
export function flatTail(values: readonly number[], fraction: number, tolerance: number) {
  const tail = values.slice(Math.floor(values.length * (1 - fraction)));
  const mean = tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
  const worst = Math.max(0, ...tail.map((v) => Math.abs(v - mean) / mean));
  return { mean, worst, flat: tail.length > 0 && worst <= tolerance, samples: tail.length };
}
