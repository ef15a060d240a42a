import { json } from '#http/response.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { detect } from './routes.ts';
import { detectAndLog } from './run.ts';

/** `POST /v1/detect`: one text (one result) or several (`results` in input order). */
export const detectRoute: RouteHandlerOf<typeof detect.routes.detect> = async ({ body, records }) => {
  const { results, model, requestId } = await detectAndLog(
    records,
    body.texts ?? [body.text!],
    body.top_k,
    body.model,
    {
      cache: body.cache,
    },
  );
  return json(body.texts ? { results, model, requestId } : { ...results[0]!, model, requestId });
};
