import { json } from '#http/response.ts';
import { config } from '#runtime/config.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { translate } from './routes.ts';

/**
 * LibreTranslate's `GET /frontend/settings`, which its web frontend and some extensions read
 * first: the character limit per text, keys required, no files or suggestions. No model is loaded.
 */
export const libreFrontendSettingsRoute: RouteHandlerOf<typeof translate.routes.libreFrontendSettings> = async () =>
  json({
    charLimit: config().MAX_TEXT_CHARS,
    frontendTimeout: 500,
    apiKeys: true,
    keyRequired: true,
    suggestions: false,
    filesTranslation: false,
    supportedFilesFormat: [],
    language: { source: { code: 'auto', name: 'Auto Detect' }, target: { code: 'en', name: 'English' } },
  });
