import { writeFileSync } from 'node:fs';
import { proxyEvent } from '#local/events.ts';

const mk = (file: string, method: string, path: string, body?: unknown, query = '') => {
  const e = proxyEvent({
    method,
    resource: path,
    path,
    pathParameters: null,
    headers: { 'content-type': 'application/json', 'x-api-key': 'local-dev-key', host: 'localhost' },
    query: new URLSearchParams(query),
    body: body === undefined ? null : JSON.stringify(body),
    apiKeyId: 'local-events',
  });
  e.requestContext.requestId = `event-${file}`;
  e.requestContext.requestTimeEpoch = 1795046400000;
  writeFileSync(`events/${file}.json`, `${JSON.stringify(e, null, 2)}\n`);
};
mk('health', 'GET', '/health');
mk('status', 'GET', '/v1/status');
mk('predict', 'POST', '/v1/predict', { text: 'I love this product, it works perfectly!' });
mk('predict-batch', 'POST', '/v1/predict/batch', {
  texts: ['I love this product, it works perfectly!', 'Terrible, it broke after one day.'],
  model: 'tiny-distilbert-sentiment@2',
});
mk('predict-compare', 'POST', '/v1/predict/compare', {
  text: 'I love this product, it works perfectly!',
  model: 'tiny-distilbert-sentiment',
  versions: ['1', '2'],
});
mk('predict-ensemble', 'POST', '/v1/predict', {
  text: 'I love this product, it works perfectly!',
  ensemble: { members: ['tiny-distilbert-sentiment@1', 'tiny-distilbert-sentiment@2'], method: 'soft' },
});
mk('analytics-summary', 'GET', '/v1/analytics/summary', undefined, 'model=tiny-distilbert-sentiment');
