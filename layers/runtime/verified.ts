import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { type ManifestFile, sha256File } from './manifest.ts';

/**
 * Which files of a folder were hashed and found intact, and the inode state they had then:
 * `.verified.json` beside them (a dot-file: never a bundle file, never listed in a manifest).
 */
export const VERIFIED_FILE = '.verified.json';

const StampSchema = z.object({
  sha256: z.string(),
  bytes: z.number(),
  ino: z.string(),
  mtimeNs: z.string(),
  ctimeNs: z.string(),
});
type Stamp = z.infer<typeof StampSchema>;
const StampsSchema = z.object({ version: z.literal(1), files: z.record(z.string(), StampSchema) });

type FileRef = Pick<ManifestFile, 'path' | 'sha256' | 'bytes'>;

const stampOf = async (file: string, ref: FileRef): Promise<Stamp | undefined> => {
  const s = await stat(file, { bigint: true }).catch(() => undefined);
  if (!s) return undefined;
  return {
    sha256: ref.sha256,
    bytes: Number(s.size),
    ino: String(s.ino),
    mtimeNs: String(s.mtimeNs),
    ctimeNs: String(s.ctimeNs),
  };
};

const sameStamp = (a: Stamp | undefined, b: Stamp | undefined): boolean =>
  a !== undefined &&
  b !== undefined &&
  a.sha256 === b.sha256 &&
  a.bytes === b.bytes &&
  a.ino === b.ino &&
  a.mtimeNs === b.mtimeNs &&
  a.ctimeNs === b.ctimeNs;

const readStamps = async (dir: string): Promise<Record<string, Stamp>> => {
  const text = await readFile(path.join(dir, VERIFIED_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    return StampsSchema.parse(JSON.parse(text)).files;
  } catch {
    // An unreadable stamp file only costs a full check.
    return {};
  }
};

/**
 * Writes the stamps (a new file renamed into place: concurrent writers each leave a whole
 * file). Best effort: on a read-only folder the next cold load hashes again, nothing worse.
 */
const writeStamps = async (dir: string, files: Record<string, Stamp>): Promise<void> => {
  const target = path.join(dir, VERIFIED_FILE);
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, JSON.stringify({ version: 1, files }));
    await rename(tmp, target);
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
};

/** sha256 of a file ('' when unreadable), its time recorded as a `hf-serve:hash` measure (the cold-start benchmark's). */
const hashOf = async (file: string): Promise<string> => {
  const start = performance.now();
  try {
    return await sha256File(file).catch(() => '');
  } finally {
    performance.measure('hf-serve:hash', { start });
  }
};

/**
 * Records `files` of `dir` as hashed and intact now (the caller has just checked every byte).
 *
 * @example
 * await recordVerified(staging, manifest.files); // after every sha256 matched
 */
export const recordVerified = async (dir: string, files: readonly FileRef[]): Promise<void> => {
  const stamps = await readStamps(dir);
  for (const f of files) {
    const stamp = await stampOf(path.join(dir, f.path), f);
    if (stamp) stamps[f.path] = stamp;
  }
  await writeStamps(dir, stamps);
};

/**
 * The files under `dir` that no longer match their entries: missing, another size, or
 * (every byte read) another sha256. A file hashed intact before whose inode is unchanged
 * since (same inode number, size, mtime and ctime, in nanoseconds; `.verified.json`) is not
 * read again: any write, truncation, replacement or chmod changes its ctime, which no
 * process can set back, so a cold start pays a `stat` per file instead of hashing hundreds
 * of MB of an EFS copy already checked. What a stamp cannot see is a change below the file
 * system (EFS checksums its own storage). A file hashed intact now is stamped.
 *
 * @example
 * await changedFiles(bundle.dir, manifest.files); // => [] when intact, ['onnx/model.onnx'] when that file changed
 */
export const changedFiles = async (dir: string, files: readonly FileRef[]): Promise<string[]> => {
  const stamps = await readStamps(dir);
  const changed: string[] = [];
  let stamped = false;
  for (const file of files) {
    const p = path.join(dir, file.path);
    const now = await stampOf(p, file);
    if (now?.bytes === file.bytes && sameStamp(stamps[file.path], now)) continue;
    if (now?.bytes !== file.bytes || (await hashOf(p)) !== file.sha256) {
      changed.push(file.path);
      continue;
    }
    // Stamped with the state seen before hashing: a write during the hash changes ctime again.
    stamps[file.path] = now;
    stamped = true;
  }
  if (stamped) await writeStamps(dir, stamps);
  return changed;
};
