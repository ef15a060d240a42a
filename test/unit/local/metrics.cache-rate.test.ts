import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { MetricsCollector } from '#local/metrics.ts';
import { CACHE_HIT_RATE, functionPanels } from '#observability/dashboard.ts';

const NAMESPACE = 'HfServe';
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const emf = (at: number, metrics: Record<string, number>) => ({
  _aws: {
    Timestamp: at,
    CloudWatchMetrics: [
      {
        Namespace: NAMESPACE,
        Dimensions: [['service']],
        Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })),
      },
    ],
  },
  service: 'hf-serve',
  ...metrics,
});

describe('the result cache hit rate on the local metrics view', () => {
  it('is 100 × hits / (hits + misses) per bucket and over the window, per function', () => {
    const c = new MetricsCollector();
    c.addLine(JSON.stringify(emf(T0 + 1_000, { CacheHits: 3, CacheMisses: 1 })), 'translate');
    c.addLine(JSON.stringify(emf(T0 + 2_000, { CacheHits: 0, CacheMisses: 4 })), 'translate');
    c.addLine(JSON.stringify(emf(T0 + 61_000, { CacheHits: 2, CacheMisses: 0 })), 'translate');
    c.addLine(JSON.stringify(emf(T0 + 1_000, { CacheHits: 0, CacheMisses: 5 })), 'detect');

    const view = c.view({ routes: ROUTES, appNamespace: NAMESPACE, periodSeconds: 60, from: T0, to: T0 + 180_000 });
    const rate = (fn: string) =>
      view.panels.find((p) => p.id === `${fn}-cache`)?.series.find((s) => s.label === 'CacheHitRate %');

    expect(rate('translate')?.points.map(([, v]) => v)).toEqual([37.5, 100, null]);
    expect(rate('translate')?.value).toBe(50);
    expect(rate('detect')?.value).toBe(0);
    expect(rate('predict')?.value).toBeNull();
  });

  it('is drawn for each function with a result cache, and only those', () => {
    const withRate = ['predict', 'translate', 'detect', 'completions'].filter((fn) =>
      functionPanels(fn).some((p) => p.right.includes(CACHE_HIT_RATE)),
    );

    expect(withRate).toEqual(['predict', 'translate', 'detect']);
  });
});
