/**
 * A uPlot time-series chart as a preact component. The plot is created once
 * and fed new data with setData (uPlot redraws in a few ms even for an hour
 * of 10 s buckets); a ResizeObserver keeps it as wide as its box. The time
 * axis always spans the last `windowSeconds` up to now, whatever the data
 * holds (uPlot alone widens a single point to 1000 days), and slides every
 * 10 s. The axis it draws is mirrored in data attributes of the chart's box
 * (data-x-min, data-x-max, data-x-ticks in epoch seconds, data-x-labels).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatClock } from '../format.js';

/** One plotted line. */
export interface ChartSeries {
  label: string;
  /** Colour of the line (a value, or a CSS custom property name like "--accent"). */
  stroke: string;
  fill?: string;
}

/** Props of {@link TimeChart}. */
export interface TimeChartProps {
  /** Accessible description, e.g. "Hit rate over the last hour". */
  label: string;
  /** [seconds[], ...values[]] as uPlot expects. */
  data: ReadonlyArray<ReadonlyArray<number | null>>;
  series: ChartSeries[];
  /** Formats a y value for the axis and legend. */
  format: (v: number) => string;
  /** Fixed y range, e.g. [0, 100] for percentages. */
  yRange?: [number, number];
  height?: number;
  /** Width of the x axis in seconds, ending now (default one hour). */
  windowSeconds?: number;
}

/** The x range of a chart of the last `windowSeconds` at `nowMs`, in epoch seconds. */
export function timeWindow(nowMs: number, windowSeconds = 3600): [number, number] {
  const max = Math.ceil(nowMs / 1000);
  return [max - windowSeconds, max];
}

/** A tick label: local "HH:MM" (the seconds of formatClock dropped). */
export function tickLabel(seconds: number): string {
  return formatClock(seconds * 1000).slice(0, 5);
}

/** Writes what the x axis shows into the chart box's data attributes. */
function mirrorAxis(el: HTMLElement, u: uPlot, ticks: number[], labels: string[]): void {
  el.dataset.xMin = String(u.scales.x?.min ?? '');
  el.dataset.xMax = String(u.scales.x?.max ?? '');
  el.dataset.xTicks = ticks.join(',');
  el.dataset.xLabels = labels.join(',');
}

/** Resolves a CSS custom property (canvas strokes cannot use var()). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function options(p: TimeChartProps, width: number, el: HTMLElement): uPlot.Options {
  const muted = cssVar('--muted', '#667');
  const grid = cssVar('--grid', '#e3e6ea');
  const fmt = (_u: uPlot, v: number | null): string => (v === null || v === undefined ? '—' : p.format(v));
  return {
    width,
    height: p.height ?? 180,
    cursor: { drag: { x: false, y: false } },
    legend: { show: true },
    scales: {
      x: { time: true, range: () => timeWindow(Date.now(), p.windowSeconds) },
      y: p.yRange ? { range: p.yRange } : { range: (_u, _min, max) => [0, Math.max(1, max ?? 0)] },
    },
    axes: [
      {
        stroke: muted,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        values: (u, ticks) => {
          const labels = ticks.map(tickLabel);
          mirrorAxis(el, u, ticks, labels);
          return labels;
        },
      },
      {
        stroke: muted,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        size: 70,
        values: (_u, vals) => vals.map((v) => p.format(v)),
      },
    ],
    series: [
      { value: (_u, v) => (v === null || v === undefined ? '—' : formatClock(v * 1000)) },
      ...p.series.map((s) => ({
        label: s.label,
        stroke: s.stroke.startsWith('--') ? cssVar(s.stroke, '#36c') : s.stroke,
        fill: s.fill,
        width: 2,
        spanGaps: false,
        value: fmt,
        points: { show: true, size: 6 },
      })),
    ],
  };
}

/** A responsive uPlot chart. */
export function TimeChart(props: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(props, Math.max(200, el.clientWidth), el), props.data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height: props.height ?? 180 });
    });
    ro.observe(el);
    // The window ends now even when no new data arrives.
    const slide = setInterval(() => u.setData(u.data), 10_000);
    return () => {
      clearInterval(slide);
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Options are fixed for the chart's life; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}
