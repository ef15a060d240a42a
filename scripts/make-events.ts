import { writeFileSync } from 'node:fs';
import { proxyEvent } from '#local/events.ts';

const mk = (file: string, method: string, path: string, body?: unknown) => {
  const e = proxyEvent({
    method,
    resource: path,
    path,
    pathParameters: null,
    headers: { 'content-type': 'application/json', 'x-api-key': 'local-dev-key', host: 'localhost' },
    query: new URLSearchParams(),
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
