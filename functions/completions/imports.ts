import { json } from '#http/response.ts';
import { importJobs } from '#predictions/import-jobs.ts';
import { config, listOf } from '#runtime/config.ts';
import { NotFoundError } from '#runtime/errors.ts';
import { importAllowed, parseHubId } from '#runtime/hub-id.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { importView } from '../hub-model.ts';
import type { completions } from './routes.ts';

/**
 * `GET /v1/imports/{org}/{name}[?revision=]`: one Hugging Face import job, queued,
 * importing, failed (with its reason) or done (with the model it is served as). Reading
 * never starts an import: naming the model on a model route does.
 */
export const importRoute: RouteHandlerOf<typeof completions.routes.imports> = async ({ params, query }) => {
  const c = config();
  const hub = parseHubId(`${params.org}/${params.name}${query.revision ? `@${query.revision}` : ''}`, 'name');
  const job = await importJobs(c).get(hub.key);
  if (!job) {
    const allowed = importAllowed(hub.repo, listOf(c.HUB_IMPORT_ALLOW));
    throw new NotFoundError(
      `No import of ${hub.key} was asked for. ${allowed ? `Name "${hub.key}" as the model of POST /v1/chat/completions or /v1/completions (a generator) POST /v1/predict (a classifier) or POST /v1/translate (a translation model) to import it.` : `Stage ${c.STAGE} does not allow importing it: add a matching pattern to HUB_IMPORT_ALLOW (the stage's hubImportAllow).`}`,
    );
  }
  return json(importView(job));
};
