import fc from 'fast-check';
import { opt, type RouteShape, record, text, texts } from './common.ts';

/** The valid shapes of the detect function's routes (functions/detect/routes.ts). */
export const DETECT_SHAPES: Record<string, RouteShape> = {
  'POST /v1/detect': {
    body: fc
      .tuple(
        fc.oneof(record({ text: text() }), record({ texts: texts() })),
        record({ top_k: opt(fc.integer({ min: 1, max: 10 })), model: opt(fc.constantFrom('lid176', 'lid176@1')) }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  'POST /detect': { body: record({ q: text(), api_key: opt(fc.string()) }), form: true },
};
