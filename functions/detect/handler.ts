import { bindRoutes } from '../bind.ts';
import { detectRoute } from './detect.ts';
import { libreDetectRoute } from './libre-detect.ts';
import { detect } from './routes.ts';

/** The detect function: one handler per route of `routes.ts`. */
export const handler = bindRoutes(detect, { detect: detectRoute, libreDetect: libreDetectRoute });
