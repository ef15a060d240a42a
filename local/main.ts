import { ConfigurationError } from '#runtime/errors.ts';
import { DEFAULT_DEV_KEY, loadLocalConfig } from './config.ts';
import { startLocalStack } from './stack.ts';

/**
 * `npm start`: the local API on the embedded defaults. A setting that cannot work (a
 * MODELS_DIR that does not exist, a port in use, an invalid variable) stops it with its
 * one-line message and exit code 1; anything else is a bug and shows its stack.
 */
const start = async () => {
  try {
    const local = loadLocalConfig();
    return { local, stack: await startLocalStack(local) };
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    console.error(`npm start: ${error.message}`);
    process.exit(1);
  }
};
const { local, stack } = await start();
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
