import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';

/** Tasks a bundle can serve; the capability that serves each is fixed by the route table. */
export const TASKS = ['text-classification', 'language-identification', 'translation', 'text-generation'] as const;
export type Task = (typeof TASKS)[number];

export const MANIFEST_FILE = 'manifest.json';
/** Model names and versions become S3 keys and folder names: keep them boring. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,95}$/;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split('/').includes('..') && !p.includes('\\'), {
    message: 'must be a relative path inside the bundle (no "..", no backslashes)',
  });

export const ManifestFileSchema = z.object({
  path: relativePath,
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be a lowercase hex sha256'),
  bytes: z.number().int().nonnegative(),
});

export const ManifestSourceSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hub'),
    repo: z.string().min(1),
    /** The commit the requested revision resolved to: bundles are pinned, never "main". */
    revision: z.string().regex(/^[a-f0-9]{40}$/, 'must be a resolved 40-character commit sha'),
    requestedRevision: z.string().optional(),
    endpoint: z.string().optional(),
  }),
  z.object({ type: z.literal('local'), path: z.string().min(1) }),
  z.object({ type: z.literal('converted'), from: z.string().min(1), format: z.string().min(1) }),
]);

/**
 * The model bundle manifest (DESIGN.md, Contracts): what a bundle is, file by file,
 * with the sha256 every copy is checked against. A bundle is immutable.
 *
 * @example
 * ManifestSchema.parse(JSON.parse(await readFile('bundle/manifest.json', 'utf8')));
 * // => { schemaVersion: 1, name: 'tiny-distilbert-sentiment', version: '1', task: 'text-classification', ... }
 */
export const ManifestSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string().regex(NAME_PATTERN, 'lowercase letters, digits, ".", "_" or "-", at most 96 characters'),
  version: z.string().regex(VERSION_PATTERN, 'letters, digits, ".", "_" or "-", at most 64 characters'),
  task: z.enum(TASKS),
  /** Which ONNX weights to load: `fp32` (`onnx/model.onnx`) or `q8` (`onnx/model_quantized.onnx`). */
  dtype: z.enum(['fp32', 'q8']).default('fp32'),
  files: z.array(ManifestFileSchema).min(1),
  labels: z.array(z.string()).optional(),
  languages: z.array(z.string()).optional(),
  source: ManifestSourceSchema,
  created: z.iso.datetime(),
  description: z.string().optional(),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestFile = z.infer<typeof ManifestFileSchema>;
export type ManifestSource = z.infer<typeof ManifestSourceSchema>;

/** Parses a manifest, naming the file and the first wrong field when it is not valid. */
export const parseManifest = (text: string, where: string): Manifest => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${where}: manifest is not valid JSON`, { cause });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: invalid manifest: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? ''}`.trim());
  }
  return parsed.data;
};

export const readManifest = async (dir: string): Promise<Manifest> =>
  parseManifest(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'), path.join(dir, MANIFEST_FILE));

/** sha256 of a file, streamed (bundles hold files of hundreds of MB). */
export const sha256File = async (file: string): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

const listFiles = async (dir: string, prefix = ''): Promise<string[]> => {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile() && rel !== MANIFEST_FILE) out.push(rel);
  }
  return out.sort();
};

/**
 * Hashes every file of a bundle folder (except the manifest and dot-files) and writes
 * `manifest.json`. Used by model-packaging's import, pull and convert commands.
 *
 * @example
 * await writeManifest('out/lid176/1', { name: 'lid176', version: '1', task: 'language-identification',
 *   source: { type: 'converted', from: 'lid.176.ftz', format: 'fasttext' } });
 */
export const writeManifest = async (
  dir: string,
  meta: Omit<Manifest, 'files' | 'created' | 'schemaVersion' | 'dtype'> & {
    dtype?: Manifest['dtype'];
    created?: string;
  },
): Promise<Manifest> => {
  const files: ManifestFile[] = [];
  for (const rel of await listFiles(dir)) {
    const abs = path.join(dir, rel);
    files.push({ path: rel, sha256: await sha256File(abs), bytes: (await stat(abs)).size });
  }
  const manifest = ManifestSchema.parse({
    schemaVersion: 1,
    created: meta.created ?? new Date().toISOString(),
    ...meta,
    files,
  });
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
};
