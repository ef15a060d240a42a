import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { parseInput } from '#http/validate.ts';
import { logger } from '#observability/index.ts';
import { modelRuntime } from '#storage/model-runtime.ts';

/**
 * Model-cache warm-up: after a model is published, fill the EFS cache before traffic
 * arrives, with the same store code the functions use (S3 → staging → sha256 → rename),
 * then build the bundle's pre-optimised ONNX graphs for this machine's key
 * (`optimizedGraphs`: built, found, busy, unsupported, mismatch, failed, or off).
 * Invoked directly (console, CLI, a deployment step or a custom resource), not through
 * API Gateway. Event: `{ "models": ["name@version" | "name@alias", ...] }` or `{ "model": "..." }`.
 */
const WarmEvent = z.union(
  [
    z.object({ model: z.string().min(1) }).transform((e) => [e.model]),
    z.object({ models: z.array(z.string().min(1)).min(1).max(20) }).transform((e) => e.models),
    // CloudFormation custom resource events carry the models in ResourceProperties.
    z
      .object({ RequestType: z.string(), ResourceProperties: z.object({ models: z.array(z.string().min(1)).min(1) }) })
      .transform((e) => e.ResourceProperties.models),
  ],
  { error: 'expected {"model": "name@version"} or {"models": ["name@version", ...]} (up to 20)' },
);

const warm = async (event: unknown) => {
  // A custom resource is deleted with its stack: there is nothing to warm then.
  if ((event as { RequestType?: string } | null)?.RequestType === 'Delete') return { warmed: [] };
  const refs = parseInput(WarmEvent, event);
  const runtime = modelRuntime();
  const warmed = [];
  for (const ref of refs) {
    const started = performance.now();
    const { name, version } = await runtime.registry.resolve(ref);
    const bundle = await runtime.deps.store.ensure(name, version);
    // This machine's optimised graphs (instances on other hardware build their own lazily).
    const optimized = await runtime.deps.graphs?.build(bundle);
    const ms = Math.round(performance.now() - started);
    logger.info('model cache warmed', {
      model: `${name}@${version}`,
      dir: bundle.dir,
      ms,
      optimized: optimized?.status,
    });
    warmed.push({
      model: `${name}@${version}`,
      dir: bundle.dir,
      files: bundle.manifest.files.length,
      ms,
      optimizedGraphs: optimized?.status ?? 'off',
    });
  }
  return { warmed };
};

export const handler = middy(warm).use(injectLambdaContext(logger, { resetKeys: true }));
