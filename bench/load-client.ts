/**
 * The load generator of bench/load.ts, in its own process so that it never shares an
 * event loop with a server it measures: autocannon with `connections` keep-alive
 * connections for `seconds`, POSTing `{"text": …}` with a different sentence each time.
 * Records every response's latency itself (autocannon's summary has no p95) and checks
 * every body: a 2xx whose body lacks a label counts as an error too.
 *
 * Input: the path of a JSON file {url, key?, connections, seconds, texts}. Output: one JSON line.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface Job {
  url: string;
  key?: string;
  connections: number;
  seconds: number;
  texts: string[];
}
const job = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Job;
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (job.key) headers['x-api-key'] = job.key;

let next = 0;
let wrongBodies = 0;
const statuses: Record<string, number> = {};
const latenciesMs: number[] = [];
let finished: (result: autocannon.Result) => void = () => undefined;
let failed: (error: Error) => void = () => undefined;
const done = new Promise<autocannon.Result>((resolve, reject) => {
  finished = resolve;
  failed = reject;
});
const options: autocannon.Options = {
  url: job.url,
  connections: job.connections,
  duration: job.seconds,
  // API Gateway gives up after 29 s; a request still waiting then is an error.
  timeout: 29,
  requests: [
    {
      method: 'POST',
      headers,
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ text: job.texts[next++ % job.texts.length] }) }),
      onResponse: (status, body) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status < 300 && !/"label":"[A-Z]+"/.test(body)) wrongBodies += 1;
      },
    },
  ],
};
const instance = autocannon(options, (error, result) => (error ? failed(error) : finished(result)));
instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
  latenciesMs.push(responseTime);
});
const result = await done;
console.log(
  JSON.stringify({
    requests: result.requests.total,
    seconds: result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    wrongBodies,
    statuses,
    latenciesMs,
    textsUsed: next,
  }),
);
