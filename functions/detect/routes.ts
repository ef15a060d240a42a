import { charactersOf } from '#predictions/units.ts';
import { defineCapability } from '../spec.ts';
import { Detect, detectRequests, LibreDetect } from './schemas.ts';

/** The detect function's routes: language identification, and LibreTranslate's `/detect`. */
export const detect = defineCapability('detect', {
  description: 'Language identification (fastText lid.176 as ONNX).',
  routes: {
    detect: {
      usage: { unit: 'characters', amount: charactersOf },
      method: 'POST',
      path: '/v1/detect',
      summary: 'Identify the language of one or several texts (top-k with confidence)',
      body: () => detectRequests().Detect,
      response: Detect,
      examples: () => ({
        text: { summary: 'One text', value: { text: 'Bonjour tout le monde, comment allez-vous ?' } },
        texts: {
          summary: 'Several texts, top 2',
          value: { texts: ['Bonjour tout le monde', 'Guten Morgen'], top_k: 2 },
        },
      }),
    },
    libreDetect: {
      usage: { unit: 'characters', amount: charactersOf },
      method: 'POST',
      path: '/detect',
      summary: 'LibreTranslate-compatible detection (JSON or form-encoded)',
      auth: 'headerOrBody',
      errorShape: 'libretranslate',
      form: true,
      body: () => detectRequests().LibreDetect,
      response: LibreDetect,
      examples: () => ({ q: { summary: 'One text', value: { q: 'Buenos días a todos' } } }),
    },
  },
});
