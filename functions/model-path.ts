import { InvalidModelRefError, ModelNotFoundError, UnknownModelError } from '#runtime/errors.ts';
import type { Manifest } from '#runtime/manifest.ts';
import type { ResolvedRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';

/**
 * The model a `/models/{model}/…` path names, resolved to its default version and manifest
 * (the task decides how the route answers). A malformed reference stays a 400 naming
 * `model`; a well-formed one the registry does not hold is a 404, as a URL that does not exist.
 *
 * @example
 * (await pathModel('tiny-nllb')).manifest.task; // => 'translation'
 */
export const pathModel = async (ref: string): Promise<{ resolved: ResolvedRef; manifest: Manifest }> => {
  const { registry } = modelRuntime();
  try {
    const resolved = await registry.resolve(ref, () => 1);
    const manifest = await registry.manifest(resolved.name, resolved.version);
    if (!manifest) throw new UnknownModelError(`Model ${resolved.name}@${resolved.version} is not in the registry.`);
    return { resolved, manifest };
  } catch (error) {
    if (error instanceof UnknownModelError && !(error instanceof InvalidModelRefError)) {
      throw new ModelNotFoundError(`${error.message} GET /v1/models lists every served model.`, { cause: error });
    }
    throw error;
  }
};
