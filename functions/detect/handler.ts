import { bindRoutes, preloadOnProvisioned } from '../bind.ts';
import { detectRoute } from './detect.ts';
import { libreDetectRoute } from './libre-detect.ts';
import { detect } from './routes.ts';
import { warmDefaultModel } from './run.ts';

/** The detect function: one handler per route of `routes.ts`. */
export const handler = bindRoutes(detect, { detect: detectRoute, libreDetect: libreDetectRoute });

// Provisioned concurrency: the default model is in memory before the first request.
await preloadOnProvisioned(warmDefaultModel);
