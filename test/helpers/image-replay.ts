import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { expandVars, type Instruction, parseDockerfile, type Stage } from './dockerfile.ts';

const run = promisify(execFile);

/**
 * What the base images put in the environment (their `ENV` lines), for the stages built
 * on them: the Lambda Node.js image sets the task root the runtime imports handlers from.
 * An image not listed here fails the replay, so a new base image gets its env written down.
 */
export const BASE_IMAGE_ENV: ReadonlyArray<{ prefix: string; env: Readonly<Record<string, string>> }> = [
  {
    prefix: 'public.ecr.aws/lambda/nodejs:22',
    env: {
      LAMBDA_TASK_ROOT: '/var/task',
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      LANG: 'en_US.UTF-8',
      TZ: ':/etc/localtime',
    },
  },
  { prefix: 'node:22', env: {} },
];

export interface ReplayOptions {
  repoRoot: string;
  /** Relative to the repository root. */
  dockerfile: string;
  /** The build context's filter, in .dockerignore syntax (what CDK and BuildKit send). */
  contextIgnore: readonly string[];
  /** Build arguments as the builder sets them: BuildKit's TARGETARCH, or '' as SAM's classic builder leaves it. */
  buildArgs: Readonly<Record<string, string>>;
  /** An empty folder: each stage's file system is a folder under it. */
  workDir: string;
  /** Replay only these stages (by name); default all. */
  only?: readonly string[];
}

export interface ReplayedStage {
  name: string;
  /** The stage's `/`, as a folder on this machine. */
  root: string;
  env: Record<string, string>;
  workdir: string;
  cmd?: string[];
}

/** A RUN step that installs the build's dependencies: replaced by the repository's node_modules. */
const isDependencyInstall = (command: string): boolean => /^npm ci(\s|$)/.test(command);

const baseEnvOf = (image: string): Record<string, string> => {
  const base = BASE_IMAGE_ENV.find((b) => image.startsWith(b.prefix));
  if (!base) throw new Error(`image replay: no environment recorded for base image ${image} (BASE_IMAGE_ENV)`);
  return { ...base.env };
};

/** Copies a context path into the stage, leaving out what the context filter excludes (as the builder never sees it). */
const copyFromContext = async (
  opts: ReplayOptions,
  ignore: IgnoreStrategy,
  source: string,
  target: string,
): Promise<void> => {
  const abs = path.join(opts.repoRoot, source);
  if (!existsSync(abs) || ignore.ignores(abs)) {
    throw new Error(`COPY ${source}: not found in the build context (missing, or left out by the .dockerignore)`);
  }
  await cp(abs, target, {
    recursive: true,
    filter: (src) => src === abs || !ignore.ignores(src),
  });
};

/**
 * Replays a Dockerfile's stages without Docker, on this machine: each stage's file system
 * is a folder, COPY copies exactly the context paths it names (filtered as the builder's
 * context is) or another stage's paths, RUN runs its command with `/bin/sh -c` in the
 * stage's WORKDIR with the stage's ARG and ENV values. The one step not run is the build's
 * dependency install (`npm ci`): its node_modules is a link to the repository's (same lock
 * file). npm runs offline (`npm_config_offline`), from the machine's cache, so a step that
 * needs a package the cache lacks fails instead of reaching the registry.
 *
 * @example
 * const stages = await replayDockerfile({ repoRoot, dockerfile: 'infra/Dockerfile', contextIgnore, buildArgs: { TARGETARCH: '' }, workDir });
 * stages.at(-1)?.env.LAMBDA_TASK_ROOT; // => '/var/task'
 */
export const replayDockerfile = async (opts: ReplayOptions): Promise<ReplayedStage[]> => {
  const file = parseDockerfile(await readFile(path.join(opts.repoRoot, opts.dockerfile), 'utf8'));
  const ignore = IgnoreStrategy.docker(opts.repoRoot, [...opts.contextIgnore]);
  const globals: Record<string, string> = {};
  for (const arg of file.globalArgs) globals[arg.name] = opts.buildArgs[arg.name] ?? arg.value ?? '';
  const done: ReplayedStage[] = [];
  for (const [index, stage] of file.stages.entries()) {
    if (opts.only && !opts.only.includes(stage.name ?? '')) continue;
    done.push(await replayStage(opts, ignore, stage, index, globals, done));
  }
  return done;
};

const replayStage = async (
  opts: ReplayOptions,
  ignore: IgnoreStrategy,
  stage: Stage,
  index: number,
  globals: Record<string, string>,
  earlier: ReplayedStage[],
): Promise<ReplayedStage> => {
  const image = expandVars(stage.image, globals);
  const built: ReplayedStage = {
    name: stage.name ?? String(index),
    root: path.join(opts.workDir, `stage-${index}-${stage.name ?? 'final'}`),
    env: baseEnvOf(image),
    workdir: '/',
  };
  await mkdir(built.root, { recursive: true });
  const args: Record<string, string> = {};
  const vars = () => ({ ...built.env, ...args });
  const inStage = (p: string) => path.join(built.root, path.posix.resolve(built.workdir, p));
  for (const ins of stage.instructions) await replayInstruction(ins);
  return built;

  async function replayInstruction(ins: Instruction): Promise<void> {
    switch (ins.kind) {
      case 'ARG':
        args[ins.name] = opts.buildArgs[ins.name] ?? ins.value ?? '';
        return;
      case 'ENV':
        built.env[ins.name] = expandVars(ins.value, vars());
        return;
      case 'WORKDIR':
        built.workdir = path.posix.resolve(built.workdir, expandVars(ins.path, vars()));
        await mkdir(inStage('.'), { recursive: true });
        return;
      case 'CMD':
        built.cmd = ins.command;
        return;
      case 'COPY':
        return copy(ins);
      case 'RUN':
        return runStep(ins.command);
    }
  }

  async function copy(ins: Extract<Instruction, { kind: 'COPY' }>): Promise<void> {
    const dest = expandVars(ins.dest, vars());
    const intoDir = dest.endsWith('/') || ins.sources.length > 1;
    for (const source of ins.sources.map((s) => expandVars(s, vars()))) {
      const target = intoDir ? path.join(inStage(dest), path.basename(source)) : inStage(dest);
      await mkdir(path.dirname(target), { recursive: true });
      if (ins.from === undefined) {
        await copyFromContext(opts, ignore, source, target);
        continue;
      }
      const from = earlier.find((s) => s.name === ins.from);
      if (!from) throw new Error(`COPY --from=${ins.from}: no such stage before this one`);
      const abs = path.join(from.root, source);
      if (!existsSync(abs)) throw new Error(`COPY --from=${ins.from} ${source}: not found in stage ${ins.from}`);
      await cp(abs, target, { recursive: true });
    }
  }

  async function runStep(command: string): Promise<void> {
    const cwd = inStage('.');
    if (isDependencyInstall(command)) {
      if (!(await stat(path.join(cwd, 'package-lock.json')).catch(() => undefined))) {
        throw new Error(`RUN ${command}: no package-lock.json in ${built.workdir}`);
      }
      await symlink(path.join(opts.repoRoot, 'node_modules'), path.join(cwd, 'node_modules'), 'dir');
      return;
    }
    try {
      await run('/bin/sh', ['-c', command], {
        cwd,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          npm_config_offline: 'true',
          npm_config_update_notifier: 'false',
          ...vars(),
        },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`stage ${built.name}: RUN ${command.slice(0, 80)}… failed\n${e.stderr ?? ''}${e.stdout ?? ''}`, {
        cause: error,
      });
    }
  }
};

/** A hash of everything a replay reads: the Dockerfile, the filtered context, the build args, the installed packages. */
const replayKey = async (opts: Omit<ReplayOptions, 'workDir'>): Promise<string> => {
  const ignore = IgnoreStrategy.docker(opts.repoRoot, [...opts.contextIgnore]);
  const hash = createHash('sha256').update(
    JSON.stringify([opts.dockerfile, opts.contextIgnore, opts.buildArgs, opts.only]),
  );
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = path.join(dir, entry.name);
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      if (entry.isDirectory()) await walk(abs);
      else if (!ignore.ignores(abs)) hash.update(abs).update(await readFile(abs));
    }
  };
  await walk(opts.repoRoot);
  hash.update(await readFile(path.join(opts.repoRoot, 'node_modules/.package-lock.json')));
  return hash.digest('hex').slice(0, 16);
};

/**
 * `replayDockerfile`, once per content: the stages of a replay of the same Dockerfile, context,
 * build args and installed packages are reused from the OS temporary folder (test files that
 * run the image's bundles share one replay; the build test itself replays afresh).
 *
 * @example
 * const stages = await cachedReplay({ repoRoot, dockerfile: 'infra/Dockerfile', contextIgnore, buildArgs: { TARGETARCH: '' } });
 */
export const cachedReplay = async (opts: Omit<ReplayOptions, 'workDir'>): Promise<ReplayedStage[]> => {
  const dir = path.join(os.tmpdir(), `hfserve-image-${await replayKey(opts)}`);
  const manifest = path.join(dir, 'stages.json');
  if (!existsSync(manifest)) {
    const work = await mkdtemp(path.join(os.tmpdir(), 'hfserve-image-build-'));
    const stages = await replayDockerfile({ ...opts, workDir: work });
    const relative = stages.map((s) => ({ ...s, root: path.relative(work, s.root) }));
    await writeFile(path.join(work, 'stages.json'), JSON.stringify(relative));
    // Another test process may have finished the same replay first: then its copy is used.
    await rename(work, dir).catch(() => undefined);
  }
  const stages = JSON.parse(await readFile(manifest, 'utf8')) as ReplayedStage[];
  return stages.map((s) => ({ ...s, root: path.join(dir, s.root) }));
};
