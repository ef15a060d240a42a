import { DEFAULT_DEV_KEY, loadLocalConfig } from './config.ts';
import { startLocalStack } from './stack.ts';

/** `npm start`: the local API on the embedded defaults. */
const local = loadLocalConfig();
const stack = await startLocalStack(local);
const key = local.LOCAL_API_KEY.split(',')[0]?.split(':')[0];
console.log(
  `Local API listening on ${stack.url}  (dynalite ${stack.dynamoEndpoint}, models ${stack.config.MODELS_DIR})`,
);
console.log(`API key${key === DEFAULT_DEV_KEY ? ' (default dev key; set LOCAL_API_KEY to change)' : ''}: ${key}`);
console.log(`Playground ${stack.url}/  ·  API docs ${stack.url}/docs  ·  metrics ${stack.url}/metrics-view`);
console.log(
  `Try: curl -s ${stack.url}/v1/predict -H 'x-api-key: ${key}' -H 'content-type: application/json' -d '{"text":"I love this product"}'`,
);
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
