import { bindRoutes } from '../bind.ts';
import { inferRoute } from './infer.ts';
import { models } from './routes.ts';
import { statusRoute } from './status.ts';

/** The models function: Hugging Face Inference Endpoints' per-model URL and per-model status. */
export const handler = bindRoutes(models, { infer: inferRoute, status: statusRoute });
