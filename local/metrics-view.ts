import type { MetricRef } from '#observability/dashboard.ts';

/** What `/metrics-view/data` answers (`local/metrics.ts` builds it, `local/pages/metrics.ts` draws it). */

export interface SeriesView {
  label: string;
  axis: 'left' | 'right';
  metric: MetricRef;
  /** `[bucket start (ms), statistic or null when no datum]`, one per period. */
  points: Array<[number, number | null]>;
  /** The statistic over the whole window. */
  value: number | null;
}

export interface PanelView {
  id: string;
  title: string;
  /** The function a per-function panel is about. */
  fn?: string;
  series: SeriesView[];
}

export interface MetricsView {
  from: number;
  to: number;
  periodSeconds: number;
  /** Samples in the window, and how many of them came from the functions' EMF. */
  samples: number;
  emfSamples: number;
  panels: PanelView[];
}
