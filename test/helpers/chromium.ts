import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The Chromium the browser tests drive: Debian's at /usr/bin/chromium where it is
 * installed, else the headless Chromium that the npm package @sparticuz/chromium ships
 * inside itself (brotli-packed), so `npm install && npm test` runs the browser tests on a
 * machine with nothing but Node and npm.
 *
 * The package unpacks into `os.tmpdir()` and reuses whatever `chromium` it finds there,
 * even a half-written one. So it runs in a child process whose TMPDIR is a fresh staging
 * folder, which is then renamed into `node_modules/.cache/` (once per package version;
 * a concurrent run that loses the rename drops its copy).
 */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
const UNPACK_TIMEOUT_MS = 120_000;

export interface Chromium {
  executablePath: string;
  /** Where it came from, for failure messages. */
  source: string;
  /** The browser's environment additions (fontconfig for the packaged fonts). */
  env: Record<string, string>;
}

const unpackInto = async (dir: string): Promise<void> => {
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.staging-`);
  // A clean environment: the package sets up Amazon Linux's libraries when it sees AWS_* variables.
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "console.log(await (await import('@sparticuz/chromium')).default.executablePath())"],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TMPDIR: staging }, encoding: 'utf8', timeout: UNPACK_TIMEOUT_MS },
  );
  if (run.status !== 0 || run.stdout.trim() !== path.join(staging, 'chromium')) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`@sparticuz/chromium did not unpack: ${run.stderr || run.stdout || run.error?.message}`);
  }
  // Its fonts come with a fonts.conf for Lambda's /tmp; this one adds them to the system's.
  await writeFile(
    path.join(staging, 'fonts.conf'),
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${dir}/fonts</dir>\n  <cachedir>${dir}/fonts-cache</cachedir>\n</fontconfig>\n`,
  );
  await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'chromium'))) throw error;
  });
};

/**
 * Finds or unpacks the browser.
 *
 * @example
 * const { executablePath, env } = await chromiumForTests();
 * await chromium.launch({ executablePath, env: { ...process.env, ...env } });
 */
export const chromiumForTests = async (): Promise<Chromium> => {
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, source: "Debian's chromium", env: {} };
  const manifest = path.join(ROOT, 'node_modules/@sparticuz/chromium/package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const dir = path.join(ROOT, 'node_modules/.cache', `sparticuz-chromium-${version}`);
  if (!existsSync(path.join(dir, 'chromium'))) await unpackInto(dir);
  return {
    executablePath: path.join(dir, 'chromium'),
    source: `@sparticuz/chromium ${version}`,
    env: { FONTCONFIG_FILE: path.join(dir, 'fonts.conf') },
  };
};
