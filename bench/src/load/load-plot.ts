/**
 * docs/load-latency.svg: latency against concurrent streams, hand-written SVG (no plotting
 * dependency). Left: PocketSphinx final latency p50/p95 and first partial p50 with the 500 ms
 * capacity line; right: the test engine's added latency p50/p95 with the 20 ms line.
 */

import { ADDED_P95_LIMIT_MS, FINAL_P95_LIMIT_MS, type LoadRun } from "./load-results.js";
import type { StepResult } from "./load-step.js";

export const PLOT_PATH = new URL("../../../docs/load-latency.svg", import.meta.url).pathname;

interface Series {
  readonly name: string;
  readonly color: string;
  readonly dash: string;
  readonly points: readonly (readonly [number, number])[];
}

interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly limit: number;
  readonly limitLabel: string;
}

const PANEL_W = 430;
const PANEL_H = 300;
const MARGIN = { left: 60, right: 20, top: 40, bottom: 50 };

export function renderPlot(pocketsphinx: LoadRun | undefined, test: LoadRun | undefined): string {
  const points = (run: LoadRun | undefined, value: (s: StepResult) => number) =>
    (run?.steps ?? [])
      .map((s) => [s.streams, value(s)] as const)
      .filter(([, y]) => y !== null && !Number.isNaN(y))
      .sort((a, b) => a[0] - b[0]);
  const panels: Panel[] = [
    {
      title: "PocketSphinx: end of speech → final",
      yLabel: "latency, ms",
      series: [
        { name: "final p50", color: "#1f77b4", dash: "", points: points(pocketsphinx, (s) => s.finalMs.p50) },
        { name: "final p95", color: "#d62728", dash: "6 4", points: points(pocketsphinx, (s) => s.finalMs.p95) },
        {
          name: "first partial p50",
          color: "#2ca02c",
          dash: "2 3",
          points: points(pocketsphinx, (s) => s.firstPartialMs.p50),
        },
      ],
      limit: FINAL_P95_LIMIT_MS,
      limitLabel: `${FINAL_P95_LIMIT_MS} ms (capacity)`,
    },
    {
      title: "test engine: added latency (server alone)",
      yLabel: "added latency, ms",
      series: [
        { name: "added p50", color: "#1f77b4", dash: "", points: points(test, (s) => s.addedMs.p50) },
        { name: "added p95", color: "#d62728", dash: "6 4", points: points(test, (s) => s.addedMs.p95) },
      ],
      limit: ADDED_P95_LIMIT_MS,
      limitLabel: `${ADDED_P95_LIMIT_MS} ms`,
    },
  ];
  const width = panels.length * (PANEL_W + MARGIN.left + MARGIN.right);
  const height = PANEL_H + MARGIN.top + MARGIN.bottom + 30;
  const body = panels.map((panel, i) => renderPanel(panel, i * (PANEL_W + MARGIN.left + MARGIN.right))).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${body}
<text x="${width / 2}" y="${height - 8}" text-anchor="middle">concurrent real-time streams (earshot, ${machineNote(pocketsphinx ?? test)})</text>
</svg>
`;
}

function machineNote(run: LoadRun | undefined): string {
  return run ? `${run.machine.logicalCores} cores, ${run.machine.date.slice(0, 10)}` : "not measured yet";
}

function renderPanel(panel: Panel, offsetX: number): string {
  const left = offsetX + MARGIN.left;
  const top = MARGIN.top;
  const all = panel.series.flatMap((s) => s.points);
  const xMax = niceCeil(Math.max(1, ...all.map(([x]) => x)));
  const finite = all.map(([, y]) => y).filter(Number.isFinite);
  const yMax = niceCeil(Math.min(panel.limit * 4, Math.max(panel.limit * 1.2, ...finite)));
  const px = (x: number) => left + (x / xMax) * PANEL_W;
  const py = (y: number) => top + PANEL_H - (Math.min(y, yMax) / yMax) * PANEL_H;
  const parts: string[] = [
    `<text x="${left + PANEL_W / 2}" y="${top - 16}" text-anchor="middle" font-weight="bold">${panel.title}</text>`,
    `<rect x="${left}" y="${top}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    const y = (yMax * i) / 5;
    parts.push(
      `<line x1="${px(x)}" y1="${top}" x2="${px(x)}" y2="${top + PANEL_H}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${top + PANEL_H + 16}" text-anchor="middle">${round(x)}</text>`,
      `<line x1="${left}" y1="${py(y)}" x2="${left + PANEL_W}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${py(y) + 4}" text-anchor="end">${round(y)}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(${offsetX + 16} ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle">${panel.yLabel}</text>`,
    `<line x1="${left}" y1="${py(panel.limit)}" x2="${left + PANEL_W}" y2="${py(panel.limit)}" stroke="#000" stroke-dasharray="1 3"/>`,
    `<text x="${left + PANEL_W - 4}" y="${py(panel.limit) - 4}" text-anchor="end">${panel.limitLabel}</text>`,
  );
  if (all.length === 0) {
    parts.push(`<text x="${left + PANEL_W / 2}" y="${top + PANEL_H / 2}" text-anchor="middle">not measured yet</text>`);
  }
  panel.series.forEach((series, i) => {
    const path = series.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    const dash = series.dash ? ` stroke-dasharray="${series.dash}"` : "";
    parts.push(`<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`);
    for (const [x, y] of series.points) {
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${series.color}"/>`);
    }
    const legendY = top + 14 + i * 16;
    parts.push(
      `<line x1="${left + 10}" y1="${legendY - 4}" x2="${left + 34}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${left + 40}" y="${legendY}">${series.name}</text>`,
    );
  });
  if (all.some(([, y]) => y > yMax)) {
    parts.push(
      `<text x="${left + PANEL_W - 4}" y="${top + 14}" text-anchor="end">points above ${round(yMax)} ms drawn at the top</text>`,
    );
  }
  return `<g>\n${parts.join("\n")}\n</g>`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
