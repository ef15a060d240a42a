import { bindRoutes, preloadOnProvisioned } from '../bind.ts';
import { languagesRoute } from './languages.ts';
import { libreFrontendSettingsRoute } from './libre-frontend-settings.ts';
import { libreLanguagesRoute } from './libre-languages.ts';
import { libreTranslateRoute } from './libre-translate.ts';
import { translate } from './routes.ts';
import { warmDefaultModel } from './run.ts';
import { translateRoute } from './translate.ts';

/** The translate function: one handler per route of `routes.ts`. */
export const handler = bindRoutes(translate, {
  translate: translateRoute,
  languages: languagesRoute,
  libreTranslate: libreTranslateRoute,
  libreLanguages: libreLanguagesRoute,
  libreFrontendSettings: libreFrontendSettingsRoute,
});

// Provisioned concurrency: the default model is in memory before the first request.
await preloadOnProvisioned(warmDefaultModel);
