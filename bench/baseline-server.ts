/**
 * The load test's baseline (issue 9): the plain server a team writes first. One Node
 * process, node:http, a transformers.js `pipeline()` with default options (only `dtype`
 * is given: the bench model ships int8 weights alone), one call per request, no API key,
 * no logging, no prediction log. Started by bench/load.ts as
 * `node --import tsx bench/baseline-server.ts <models-root> <model-name>`; prints
 * `{"url": …}` once it listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { env, pipeline } from '@huggingface/transformers';

const [root, name] = process.argv.slice(2);
if (!root || !name) throw new Error('usage: baseline-server.ts <models-root> <model-name>');
env.allowRemoteModels = false;
env.localModelPath = root.endsWith('/') ? root : `${root}/`;
const classifier = await pipeline('text-classification', name, { dtype: 'q8' });

const server = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  try {
    const { text } = JSON.parse(body) as { text: string };
    const [top] = (await classifier(text)) as Array<{ label: string; score: number }>;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(top));
  } catch (error) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: (error as Error).message } }));
  }
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
});
