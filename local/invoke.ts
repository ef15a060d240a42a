import './lambda-shim.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CAPABILITIES, type Capability } from '#functions/routes.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { loadConfig, setConfig } from '#runtime/config.ts';
import { loadLocalConfig } from './config.ts';
import { runHandler } from './run-handler.ts';
import type { ProxyHandler, StreamingHandler } from './server.ts';
import { mirrorLocalKeys, startDynalite } from './stack.ts';

/**
 * `npm run invoke -- <function> <event.json>`: the no-Docker twin of `sam local invoke`.
 * Runs the function's handler once with an event file (`events/`) and prints the result;
 * a response-streaming function's stream is collected into one result. Without
 * DYNAMODB_ENDPOINT it starts an in-memory dynalite so prediction records have
 * somewhere to go.
 */
const FUNCTIONS = [...CAPABILITIES, 'warm', 'ingest'] as const;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { help: { type: 'boolean', short: 'h' } },
});
const [fn, eventFile] = positionals;
if (values.help || !fn || !eventFile) {
  console.log(
    `usage: npm run invoke -- <${FUNCTIONS.join('|')}> <event.json>\n  e.g. npm run invoke -- predict events/predict/predict.json`,
  );
  process.exit(values.help ? 0 : 2);
}
if (!(FUNCTIONS as readonly string[]).includes(fn)) {
  console.error(`Unknown function ${JSON.stringify(fn)}: use one of ${FUNCTIONS.join(', ')}.`);
  process.exit(2);
}
let event: APIGatewayProxyEvent;
try {
  event = JSON.parse(await readFile(path.resolve(eventFile), 'utf8')) as APIGatewayProxyEvent;
} catch (error) {
  console.error(`Cannot read event file ${eventFile}: ${(error as Error).message}`);
  process.exit(2);
}
const db = process.env.DYNAMODB_ENDPOINT ? undefined : await startDynalite('memory');
const config = loadConfig({ ...process.env, ...(db ? { DYNAMODB_ENDPOINT: db.endpoint } : {}) });
setConfig(config);
if (db) {
  const tables = makeDocumentClient(config);
  await ensureLocalTables(tables, config);
  // The body-keyed routes' functions check keys in the key table (functions/body-key.ts): here, as
  // under `npm start`, the emulator's keys (LOCAL_API_KEY, default the README's local-dev-key).
  await mirrorLocalKeys(tables, config, loadLocalConfig(process.env));
}
const { handler } = (await import(`../functions/${fn as Capability | 'warm' | 'ingest'}/handler.ts`)) as {
  handler: ProxyHandler | StreamingHandler;
};
const result = await runHandler(handler, event, fn);
console.log(JSON.stringify(result, null, 2));
await db?.close();
// The warm function answers its own shape (no status code): it failed only if it threw.
process.exit(result.statusCode === undefined || result.statusCode < 500 ? 0 : 1);
