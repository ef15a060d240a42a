import { search } from '@aws-lambda-powertools/jmespath';
import { correlationPaths } from '@aws-lambda-powertools/logger/correlationId';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countEach, MetricName, searchJmesPath } from '#observability/index.ts';

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

describe('searchJmesPath', () => {
  const event = {
    requestContext: { requestId: 'req-1', identity: { apiKeyId: null }, list: [1] },
    headers: { 'x-correlation-id': 'h-1' },
    constructor: 'own',
  };
  it.each([
    correlationPaths.API_GATEWAY_REST,
    'requestContext.identity.apiKeyId',
    'requestContext.missing.deeper',
    'requestContext.list.length',
    'requestContext.requestId.length',
    'headers."x-correlation-id"',
    'requestContext.list[0]',
  ])('answers %s as JMESPath does', (expression) => {
    expect(searchJmesPath(expression, event)).toEqual(search(expression, event as never));
  });

  it('finds the API Gateway request id, and null where there is none', () => {
    expect(searchJmesPath(correlationPaths.API_GATEWAY_REST, event)).toBe('req-1');
    expect(searchJmesPath(correlationPaths.API_GATEWAY_REST, {})).toBeNull();
    expect(searchJmesPath(correlationPaths.API_GATEWAY_REST, null)).toBeNull();
    // Own fields only (Powertools' own search throws on these names: its parser cache is a plain object).
    expect(searchJmesPath('constructor', event)).toBe('own');
    expect(searchJmesPath('toString', event)).toBeNull();
  });
});
