import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { predict } from './routes.ts';

/** `GET /health`: liveness, no API key, no model. */
export const healthRoute: RouteHandlerOf<typeof predict.routes.health> = async () => json({ status: 'ok' });
