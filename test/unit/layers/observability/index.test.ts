import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CountingMetrics, countEach, MetricName, metrics } from '#observability/index.ts';

afterEach(() => vi.restoreAllMocks());

describe('countEach', () => {
  it('prints one count per distinct value under its dimension', () => {
    const printed = vi.spyOn(metrics, 'printCount').mockImplementation(() => undefined);

    countEach(MetricName.Predictions, ['POSITIVE', 'NEGATIVE', 'POSITIVE']);
    countEach(MetricName.Detections, ['fr']);

    expect(printed.mock.calls).toEqual([
      ['Predictions', 'label', 'POSITIVE', 2],
      ['Predictions', 'label', 'NEGATIVE', 1],
      ['Detections', 'language', 'fr', 1],
    ]);
  });
});

describe('CountingMetrics.printCount', () => {
  /** The lines written to stdout (Powertools' console writes there) while `act` runs. */
  const stdoutOf = (act: () => void): string[] => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    act();
    write.mockRestore();
    return lines;
  };
  // The tests disable metrics (vitest.config.ts); Powertools reads this in every constructor.
  beforeEach(() => vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false'));
  afterEach(() => vi.unstubAllEnvs());
  const made = (options: ConstructorParameters<typeof CountingMetrics>[0]) =>
    new CountingMetrics({ logger: { warn: () => undefined } as never, ...options });
  const CASES = [
    { name: 'Predictions', dimension: 'label', value: 'POSITIVE', count: 2 },
    { name: 'Detections', dimension: 'language', value: 'zh-Hant "quoted" \\ é', count: 1 },
    { name: 'Translations', dimension: 'pair', value: 'eng_Latn→fra_Latn', count: 64 },
    { name: 'Detections', dimension: 'language', value: '', count: 3 },
    { name: 'Detections', dimension: 'language', value: '  ', count: 1 },
  ];
  const OPTIONS = [
    { namespace: 'HfServe', serviceName: 'hf-serve' },
    { namespace: 'Other', serviceName: 'svc', defaultDimensions: { stage: 'prod' } },
  ];

  it.each(OPTIONS.flatMap((options) => CASES.map((c) => ({ ...c, options }))))(
    'prints what singleMetric().addMetric prints for $name $dimension=$value with $options.namespace',
    ({ name, dimension, value, count, options }) => {
      const m = made(options);
      const timestamp = Date.now() - 60_000;
      const warnings: string[] = [];
      const warn = (message: string) => warnings.push(message);
      const ours = made({ ...options, logger: { warn } as never });

      const powertools = stdoutOf(() => {
        const single = m.singleMetric();
        single.setTimestamp(timestamp);
        single.addDimension(dimension, value);
        single.addMetric(name, MetricUnit.Count, count);
      });
      const printed = stdoutOf(() => ours.printCount(name, dimension, value, count, timestamp));

      expect(printed).toHaveLength(1);
      expect(printed).toEqual(powertools);
      expect(warnings).toHaveLength(value.trim() ? 0 : 1);
    },
  );

  it('prints nothing when metrics are disabled, as Powertools does', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const m = new CountingMetrics({ namespace: 'HfServe', serviceName: 'hf-serve' });

    expect(stdoutOf(() => m.printCount('Predictions', 'label', 'POSITIVE', 1))).toEqual([]);
  });
});
