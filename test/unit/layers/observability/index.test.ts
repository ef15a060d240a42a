import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countEach, MetricName } from '#observability/index.ts';

afterEach(() => vi.restoreAllMocks());

describe('countEach', () => {
  it('emits one count per distinct value under its dimension, reusing one emitter', () => {
    const emitted: Array<[string, string, number]> = [];
    let dimension = '';
    vi.spyOn(Metrics.prototype, 'addDimension').mockImplementation(function (this: Metrics, _name, value) {
      dimension = value;
      return this;
    });
    vi.spyOn(Metrics.prototype, 'addMetric').mockImplementation(function (this: Metrics, name, _unit, value) {
      emitted.push([name, dimension, value]);
      return this;
    });
    const made = vi.spyOn(Metrics.prototype, 'singleMetric');

    countEach(MetricName.Predictions, ['POSITIVE', 'NEGATIVE', 'POSITIVE']);
    countEach(MetricName.Predictions, ['POSITIVE']);

    expect(emitted).toEqual([
      ['Predictions', 'POSITIVE', 2],
      ['Predictions', 'NEGATIVE', 1],
      ['Predictions', 'POSITIVE', 1],
    ]);
    expect(made).toHaveBeenCalledTimes(1);
  });
});
