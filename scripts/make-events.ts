import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CAPABILITY_SPECS } from '#functions/routes.ts';
import type { RouteSpec } from '#functions/spec.ts';
import { proxyEvent } from '#local/events.ts';

/**
 * `npx tsx scripts/make-events.ts`: the event files of `events/`, generated from the route
 * table, for `npm run invoke` and `sam local invoke`. One API Gateway REST proxy event per
 * route of every capability and per request example of its spec
 * (`events/<capability>/<route>.json` for the first, `<route>.<example>.json` for the
 * others), and the warm function's direct-invocation event (`events/warm/warm.json`).
 * test/integration/events.test.ts fails while the files differ from what this writes.
 */

/** A fixed time and key id, so the files do not change from one run to the next. */
const EPOCH_MS = 1795046400000;
const API_KEY_ID = 'local-events';

/** The route's path with its `{params}` filled from an example's values. */
const fillPath = (template: string, values: Record<string, unknown>): string =>
  template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(String(values[name] ?? name)));

const eventFor = (spec: RouteSpec, id: string, value: Record<string, unknown> | undefined): APIGatewayProxyEvent => {
  const params = [...spec.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
  const query = new URLSearchParams();
  if (spec.method === 'GET' && value) {
    for (const [k, v] of Object.entries(value)) if (!params.includes(k)) query.set(k, String(v));
  }
  const e = proxyEvent({
    method: spec.method,
    resource: spec.path,
    path: fillPath(spec.path, value ?? {}),
    pathParameters: params.length ? Object.fromEntries(params.map((p) => [p, String(value?.[p] ?? p)])) : null,
    headers: {
      'content-type': 'application/json',
      ...(spec.auth === 'none' ? {} : { 'x-api-key': 'local-dev-key' }),
      host: 'localhost',
    },
    query,
    body: spec.method === 'POST' && value ? JSON.stringify(value) : null,
    apiKeyId: spec.auth === 'none' ? undefined : API_KEY_ID,
  });
  e.requestContext.requestId = `event-${id}`;
  e.requestContext.requestTimeEpoch = EPOCH_MS;
  return e;
};

/** The warm-up function is invoked directly (no API Gateway): its event is the model list. */
export const WARM_EVENT = { model: 'tiny-distilbert-sentiment@prod' };

/**
 * Every event file, by path under `events/`, with its JSON text.
 *
 * @example
 * Object.keys(routeEvents()).includes('predict/predict.json'); // => true
 */
export const routeEvents = (): Record<string, string> => {
  const files: Record<string, string> = {};
  const write = (file: string, value: unknown) => {
    files[file] = `${JSON.stringify(value, null, 2)}\n`;
  };
  for (const capability of CAPABILITY_SPECS) {
    for (const [route, spec] of Object.entries(capability.routes) as [string, RouteSpec][]) {
      const examples = Object.entries(spec.examples?.() ?? {});
      if (examples.length === 0)
        write(`${capability.name}/${route}.json`, eventFor(spec, `${capability.name}-${route}`, undefined));
      for (const [i, [name, example]] of examples.entries()) {
        const file = i === 0 ? `${capability.name}/${route}.json` : `${capability.name}/${route}.${name}.json`;
        write(file, eventFor(spec, `${capability.name}-${route}-${name}`, example.value));
      }
    }
  }
  write('warm/warm.json', WARM_EVENT);
  return files;
};

/** Rewrites `events/` (whatever else was there goes: the folder is generated). */
const main = () => {
  const dir = path.resolve('events');
  for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  for (const [file, text] of Object.entries(routeEvents())) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  console.log(`events/: ${Object.keys(routeEvents()).length} files`);
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
