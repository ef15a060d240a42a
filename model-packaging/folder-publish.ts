import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isPresent } from '#runtime/atomic-publish.ts';
import { MANIFEST_FILE, type Manifest } from '#runtime/manifest.ts';
import { CommandError } from './common.ts';

/**
 * A checked bundle into a registry folder (`<root>/<name>/<version>/`, what MODELS_DIR
 * serves locally), whole or not at all: the files and the manifest are copied into a hidden
 * staging folder beside the version (the registry skips names starting with "."), then one
 * rename puts it in place. Rename refuses a non-empty target, so a version is never
 * overwritten, even by a racing publisher; a failed copy removes its staging folder.
 *
 * @example
 * await publishToFolder('.data/import/tiny-gpt2/abc', manifest, 'test/fixtures/models');
 * // => 'published tiny-gpt2@abc (6 files) to test/fixtures/models/tiny-gpt2/abc'
 */
export const publishToFolder = async (dir: string, manifest: Manifest, root: string): Promise<string> => {
  const parent = path.join(root, manifest.name);
  const target = path.join(parent, manifest.version);
  const exists = () =>
    new CommandError(
      `publish: ${manifest.name}@${manifest.version} already exists at ${target}; versions are immutable, publish a new --version.`,
    );
  if (await isPresent(target)) throw exists();
  const staging = path.join(parent, `.staging-${manifest.version}-${randomUUID()}`);
  try {
    for (const file of manifest.files) {
      await mkdir(path.dirname(path.join(staging, file.path)), { recursive: true });
      await copyFile(path.join(dir, file.path), path.join(staging, file.path));
    }
    await writeFile(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOTEMPTY' || error.code === 'EEXIST' ? exists() : error;
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return `published ${manifest.name}@${manifest.version} (${manifest.files.length} files) to ${target}`;
};
