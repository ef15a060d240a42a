import * as z from 'zod';
import { ManifestFileSchema } from '../manifest.ts';
import { EnvironmentSchema, type GraphEnvironment } from './environment.ts';

/** The cache's folder of copies, under the model cache root: `<cache>/.optimized/<name>/<version>/<key>/`. */
export const OPTIMIZED_DIR = '.optimized';
/** A copy's description: environment, every graph's sha256 and its source's. */
export const OPTIMIZED_META = 'optimized.json';
/** Largest absolute difference allowed between an optimised graph's outputs and the original's. */
export const DEFAULT_TOLERANCE = 1e-4;

const OptimizedGraphSchema = ManifestFileSchema.extend({
  /** The original graph this one was made from. */
  source: ManifestFileSchema.pick({ sha256: true, bytes: true }),
  /** Largest absolute output difference on the sample inputs, and how many samples ran. */
  maxAbsDiff: z.number(),
  samples: z.number().int().positive(),
});

export const OptimizedMetaSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string(),
  version: z.string(),
  key: z.string(),
  environment: EnvironmentSchema,
  links: z.enum(['symlink', 'copy']),
  graphs: z.array(OptimizedGraphSchema).min(1),
  tolerance: z.number(),
  created: z.iso.datetime(),
  buildMs: z.number(),
});

export type OptimizedGraph = z.infer<typeof OptimizedGraphSchema>;
export type OptimizedMeta = z.infer<typeof OptimizedMetaSchema>;

/** An optimised copy found for this environment: load `dir` with graph optimisation disabled. */
export interface OptimizedCopy {
  dir: string;
  key: string;
  graphs: OptimizedGraph[];
  links: 'symlink' | 'copy';
}

export type Warn = (message: string, details: Record<string, unknown>) => void;

export interface OptimizedGraphsOptions {
  /** The model cache root (`MODEL_CACHE_DIR`): copies go under its `.optimized/`. */
  cacheDir: string;
  onWarning?: Warn;
  /** The environment to key by; default this process's (`graphEnvironment`). */
  environment?: GraphEnvironment;
  tolerance?: number;
  /** Intra-op threads of the build's sessions; default 1 (a build runs beside requests). */
  threads?: number;
}
