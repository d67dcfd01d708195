import { writeFileSync, mkdirSync } from "node:fs";
import { formatSpread, spread, type Spread } from "./stats.js";

/** A small SVG line chart: x/y points, axis labels; enough to see a distribution or a progress curve. */
export function svgChart(title: string, xLabel: string, yLabel: string, series: { name: string; points: [number, number][] }[]): string {
  const [width, height, pad] = [640, 360, 50];
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(...all.map(([x]) => x), 1e-9);
  const maxY = Math.max(...all.map(([, y]) => y), 1e-9);
  const sx = (x: number) => pad + (x / maxX) * (width - 2 * pad);
  const sy = (y: number) => height - pad - (y / maxY) * (height - 2 * pad);
  const colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
  const lines = series
    .map(
      (s, i) =>
        `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")}"/>` +
        `<text x="${width - pad - 150}" y="${pad + 16 * i}" fill="${colors[i % colors.length]}" font-size="12">${s.name}</text>`,
    )
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="black"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>
<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="12">${xLabel} (max ${maxX.toPrecision(3)})</text>
<text x="14" y="${height / 2}" font-size="12" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">${yLabel} (max ${maxY.toPrecision(3)})</text>
${lines}
</svg>`;
}

/** Cumulative distribution of latencies (ms): y = share of requests at or under x. */
export function cdfPoints(samples: number[]): [number, number][] {
  const sorted = [...samples].sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(sorted.length / 200));
  const points: [number, number][] = [];
  for (let i = 0; i < sorted.length; i += step) points.push([sorted[i]!, (i + 1) / sorted.length]);
  points.push([sorted[sorted.length - 1]!, 1]);
  return points;
}

export function writeArtifacts(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(`${dir}/${name}`, content);
}

export const fmt = (values: number[], digits = 1): string => formatSpread(spread(values), digits);
export const med = (values: number[]): number => spread(values).median;
export type { Spread };
