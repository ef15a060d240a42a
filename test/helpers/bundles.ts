import { mkdir, mkdtemp, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeManifest } from '#runtime/manifest.ts';

/**
 * Sets every file under `dir` to have been modified `ms` ago, as if that long had passed
 * since it was written (the registry's saved copies: their mtime says when they were confirmed).
 */
export const ageFiles = async (dir: string, ms: number): Promise<void> => {
  const when = new Date(Date.now() - ms);
  for (const file of await readdir(dir, { recursive: true })) {
    const full = path.join(dir, file);
    if ((await stat(full)).isFile()) await utimes(full, when, when);
  }
};

/** A temporary folder that the OS cleans up; tests never write into the repo. */
export const tempDir = (prefix: string): Promise<string> => mkdtemp(path.join(os.tmpdir(), `hfserve-${prefix}-`));

/** Writes a small bundle `<root>/<name>/<version>/` with the given files and a manifest. */
export const makeBundle = async (
  root: string,
  name: string,
  version: string,
  files: Record<string, string | Buffer>,
): Promise<string> => {
  const dir = path.join(root, name, version);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  await writeManifest(dir, { name, version, task: 'text-classification', source: { type: 'local', path: dir } });
  return dir;
};
