import { storedKey } from './common.ts';

/**
 * The API reference: Swagger UI (swagger-ui-dist, served from node_modules) rendering
 * /openapi.json; the key saved by the playground authorises "Try it out".
 */

interface SwaggerUi {
  preauthorizeApiKey: (scheme: string, key: string) => void;
}
declare const SwaggerUIBundle: ((options: Record<string, unknown>) => SwaggerUi) & {
  presets: { apis: unknown };
};

const ui: SwaggerUi = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // No badge from the public validator: the page makes no request outside this server.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  displayRequestDuration: true,
  onComplete: () => {
    const key = storedKey();
    if (key) ui.preauthorizeApiKey('apiKey', key);
  },
});
