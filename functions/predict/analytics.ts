import { type DocumentSender, lazyDocumentClient } from '#predictions/dynamo.ts';
import { config } from '#runtime/config.ts';
import { oneOf, UnknownModelError } from '#runtime/errors.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';

/** Ensembles log under this model name (see docs/prediction-log.md). */
const ENSEMBLE_MODEL = 'ensemble';

let client: DocumentSender | undefined;
/** The analytics routes' DynamoDB client (reads only; the prediction log has its own). */
export const analyticsDb = () => {
  client ??= lazyDocumentClient(config());
  return client;
};

/** The model asked about: a known text-classification model name, or `ensemble`. */
export const analyticsModel = async (model: string | undefined): Promise<string> => {
  const name = model ?? parseModelRef(config().DEFAULT_PREDICT_MODEL).name;
  if (name === ENSEMBLE_MODEL) return name;
  const known = (await modelRuntime().registry.list('text-classification')).map((m) => m.name);
  if (!known.includes(name)) {
    throw new UnknownModelError(
      `Unknown model ${JSON.stringify(name)}. Use one of ${oneOf([...known, ENSEMBLE_MODEL])}.`,
    );
  }
  return name;
};
