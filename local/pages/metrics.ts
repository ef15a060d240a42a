import uPlot from 'uplot';
import type { MetricsView, PanelView } from '../metrics-view.ts';
import { byId, el } from './common.ts';

/**
 * The local metrics view: the dashboard's panels (layers/observability/dashboard.ts) as
 * uPlot charts, each with a table of its series' statistic over the window (the
 * readable form of the chart), refreshed every few seconds.
 */

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
const REFRESH_MS = 5000;
const charts = new Map<string, uPlot>();

const format = (v: number | null): string =>
  v === null ? '–' : Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(2);

/** Only series that have data get a line: a per-route panel would otherwise hold 17 empty ones. */
const chartOf = (panel: PanelView, box: HTMLElement): void => {
  const shown = panel.series.filter((s) => s.value !== null);
  charts.get(panel.id)?.destroy();
  charts.delete(panel.id);
  box.replaceChildren();
  if (shown.length === 0) {
    box.append(el('p', { className: 'hint', text: 'No data in this window.' }));
    return;
  }
  const xs = shown[0]!.points.map(([t]) => t / 1000);
  const data: uPlot.AlignedData = [xs, ...shown.map((s) => s.points.map(([, v]) => v))];
  const right = shown.some((s) => s.axis === 'right');
  const chart = new uPlot(
    {
      width: Math.max(240, box.clientWidth),
      height: 180,
      legend: { show: false },
      scales: { x: { time: true } },
      series: [
        {},
        ...shown.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          points: { show: true, size: 5 },
          spanGaps: false,
          scale: s.axis === 'right' ? 'right' : 'y',
        })),
      ],
      axes: [{}, { scale: 'y' }, ...(right ? [{ scale: 'right', side: 1 as const, grid: { show: false } }] : [])],
    },
    data,
    box,
  );
  charts.set(panel.id, chart);
};

const tableOf = (panel: PanelView, view: MetricsView): HTMLTableElement => {
  // Per-route series are listed once a route has data; the others always.
  const rows = panel.series.filter((s) => s.value !== null || !(s.metric.source === 'api' && s.metric.route));
  const shown = panel.series.filter((s) => s.value !== null);
  return el(
    'table',
    { className: 'legend' },
    el('caption', {
      className: 'visually-hidden',
      text: `${panel.title}, over the last ${Math.round((view.to - view.from) / 60000)} minutes`,
    }),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { text: 'Series', attrs: { scope: 'col' } }),
        el('th', { text: 'Axis', attrs: { scope: 'col' } }),
        el('th', { text: 'Window', attrs: { scope: 'col' } }),
      ),
    ),
    el(
      'tbody',
      {},
      ...rows.map((s) => {
        const swatch = el('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
        const i = shown.indexOf(s);
        if (i >= 0) swatch.style.background = COLORS[i % COLORS.length]!;
        return el(
          'tr',
          { attrs: { 'data-metric': s.label } },
          el('td', {}, swatch, document.createTextNode(s.label)),
          el('td', { text: s.axis }),
          el('td', { className: 'num', text: format(s.value) }),
        );
      }),
    ),
  );
};

const render = (view: MetricsView): void => {
  const root = byId('mv-panels');
  const groups = new Map<string, PanelView[]>();
  for (const p of view.panels) groups.set(p.fn ?? 'API', [...(groups.get(p.fn ?? 'API') ?? []), p]);
  const sections: HTMLElement[] = [];
  for (const [name, panels] of groups) {
    const grid = el('div', { className: 'panels' });
    sections.push(
      el(
        'section',
        { attrs: { 'aria-labelledby': `mv-h-${name}` } },
        el('h2', { text: name, attrs: { id: `mv-h-${name}` } }),
        grid,
      ),
    );
    for (const panel of panels) {
      const box = el('div', { className: 'chart', attrs: { 'aria-hidden': 'true' } });
      grid.append(
        el(
          'article',
          { className: 'panel', attrs: { id: `panel-${panel.id}`, 'aria-labelledby': `title-${panel.id}` } },
          el('h3', { text: panel.title, attrs: { id: `title-${panel.id}` } }),
          box,
          tableOf(panel, view),
        ),
      );
      // Drawn once the box is in the page and has a width.
      queueMicrotask(() => chartOf(panel, box));
    }
  }
  root.replaceChildren(...sections);
};

let timer: number | undefined;
const refresh = async (): Promise<void> => {
  window.clearTimeout(timer);
  const status = byId('mv-status');
  try {
    const period = byId<HTMLSelectElement>('mv-period').value;
    const minutes = byId<HTMLSelectElement>('mv-window').value;
    const view = (await (await fetch(`/metrics-view/data?period=${period}&minutes=${minutes}`)).json()) as MetricsView;
    render(view);
    const emf =
      view.emfSamples === 0
        ? ' No EMF from the functions yet (POWERTOOLS_METRICS_DISABLED set, or no request since start).'
        : '';
    status.textContent = `${view.samples} samples, ${view.emfSamples} from the functions' EMF; updated ${new Date().toLocaleTimeString()}.${emf}`;
  } catch (error) {
    status.textContent = `Could not load the metrics: ${String(error)}`;
  }
  if (byId<HTMLInputElement>('mv-auto').checked) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
};

byId<HTMLFormElement>('mv-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void refresh();
});
for (const id of ['mv-period', 'mv-window', 'mv-auto']) byId(id).addEventListener('change', () => void refresh());
window.addEventListener('resize', () => {
  for (const chart of charts.values())
    chart.setSize({ width: Math.max(240, chart.root.parentElement?.clientWidth ?? 240), height: 180 });
});
void refresh();
