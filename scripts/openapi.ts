import { writeFile } from 'node:fs/promises';
import { openApiJson } from '#functions/openapi.ts';
import { loadConfig, setConfig } from '#runtime/config.ts';

/**
 * `npm run openapi`: writes docs/openapi.json, the committed copy of the OpenAPI document
 * under the default configuration (whatever this shell's environment sets), so a change
 * to the contract shows in review; test/unit/functions/openapi.test.ts fails while it is stale.
 * `npm run build` writes dist/openapi.json with the environment's configuration.
 */
setConfig(loadConfig({}));
await writeFile('docs/openapi.json', openApiJson());
console.log('docs/openapi.json');
