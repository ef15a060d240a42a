import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { predict } from './routes.ts';

/**
 * `GET /health`: liveness, no API key, no model. The gateway answers it itself (the spec's
 * `mock`); the function answers the same body to a direct invocation (`npm run invoke`, SAM).
 */
export const healthRoute: RouteHandlerOf<typeof predict.routes.health> = async () =>
  json(predict.routes.health.mock.body);
