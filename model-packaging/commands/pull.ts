import { access, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { oneOf } from '#runtime/errors.ts';
import { taskOfPipelineTag } from '#runtime/hub-id.ts';
import {
  type Manifest,
  type ManifestSource,
  NAME_PATTERN,
  readManifest,
  sha256File,
  type Task,
  VERSION_PATTERN,
  writeManifest,
} from '#runtime/manifest.ts';
import { readChatTemplate, setChatTemplate } from '../chat-templates.ts';
import {
  CommandError,
  type Deps,
  type Dtype,
  parse,
  parseDtype,
  parseTask,
  positional,
  required,
  taskFiles,
  UsageError,
} from '../common.ts';
import { HubClient } from '../hub.ts';
import { createProgress } from '../progress.ts';

/**
 * Where pull and import write without --out: a folder git ignores and Biome skips
 * (.data/), so an imported model never lands in the source tree, in lint or in
 * `npm run format`.
 */
export const DEFAULT_OUT = '.data/registry';

export const PULL_HELP = `Usage: models pull <hub-id> --revision <rev> --task <task> [options]

Downloads exactly the files <task> needs from the Hugging Face Hub into
<out>/<name>/<version>/ and writes manifest.json pinned to the resolved commit sha.

Options:
  --revision <rev>    branch, tag or commit to pull (required)
  --task <task>       text-classification | translation | text-generation (required)
  --dtype <dtype>     fp32 (onnx/model.onnx) | q8 (onnx/model_quantized.onnx); default fp32
  --out <dir>         registry folder to write into; default ${DEFAULT_OUT} (gitignored;
                      serve it with MODELS_DIR=${DEFAULT_OUT} npm start)
  --name <name>       bundle name; default the repository name, lowercased
  --version <v>       bundle version; default the first 12 characters of the commit sha
  --endpoint <url>    Hub endpoint; default $HF_ENDPOINT or https://huggingface.co
  --debug             print the cause chain of an error
Environment: HF_TOKEN is sent as "Authorization: Bearer" for private or gated repositories.`;

export const IMPORT_HELP = `Usage: models import <dir> --task <task> --name <name> --version <v> [options]

Copies exactly the files <task> needs from a local folder (transformers.js layout)
into <out>/<name>/<version>/ and writes manifest.json.

Options:
  --task <task>       text-classification | translation | text-generation | language-identification (required)
  --name <name>       bundle name (required)
  --version <v>       bundle version (required)
  --dtype <dtype>     fp32 | q8; default fp32
  --chat-template <t> text-generation: chatml | llama-3 | zephyr | a Jinja file, set in
                      tokenizer_config.json when the tokenizer has no chat template
                      (else kept); /v1/chat/completions needs one
  --out <dir>         registry folder to write into; default ${DEFAULT_OUT} (gitignored;
                      serve it with MODELS_DIR=${DEFAULT_OUT} npm start)
  --debug             print the cause chain of an error`;

const checkName = (command: string, name: string): string => {
  if (!NAME_PATTERN.test(name)) {
    throw new UsageError(
      `${command}: invalid --name ${JSON.stringify(name)}: use lowercase letters, digits, ".", "_" or "-".`,
    );
  }
  return name;
};
const checkVersion = (command: string, version: string): string => {
  if (!VERSION_PATTERN.test(version)) {
    throw new UsageError(
      `${command}: invalid --version ${JSON.stringify(version)}: use letters, digits, ".", "_" or "-".`,
    );
  }
  return version;
};

/** Labels (classification) from config.json's `id2label`, in index order. */
const labelsOf = async (dir: string, task: Task): Promise<string[] | undefined> => {
  if (task !== 'text-classification') return undefined;
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as {
    id2label?: Record<string, string>;
  };
  if (!config.id2label) return undefined;
  return Object.entries(config.id2label)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, label]) => label);
};

/** Refuses to write into an existing bundle: bundles are immutable. */
const freshBundleDir = async (command: string, out: string, name: string, version: string): Promise<string> => {
  const dir = path.resolve(out, name, version);
  const exists = await access(path.join(dir, 'manifest.json')).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new CommandError(
      `${command}: ${dir} already holds a bundle; bundles are immutable, choose another --version.`,
    );
  }
  return dir;
};

const finish = async (
  dir: string,
  meta: { name: string; version: string; task: Task; dtype: Dtype; source: ManifestSource },
): Promise<Manifest> => writeManifest(dir, { ...meta, labels: await labelsOf(dir, meta.task) });

/**
 * `models pull`: a Hub revision to a local bundle with a pinned manifest.
 *
 * @example
 * await runPull(['org/model', '--revision', 'main', '--task', 'text-classification'], deps); // => 0
 */
export const runPull = async (argv: string[], deps: Deps): Promise<number> => {
  const { values, positionals } = parse('pull', argv, {
    revision: { type: 'string' },
    task: { type: 'string' },
    dtype: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    endpoint: { type: 'string' },
  });
  if (values.help) {
    deps.io.out(PULL_HELP);
    return 0;
  }
  const repo = positional('pull', 'hub-id', positionals);
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) {
    throw new UsageError(
      `pull: invalid hub id ${JSON.stringify(repo)}: use "owner/name", e.g. "Xenova/distilbert-base-uncased-finetuned-sst-2-english".`,
    );
  }
  const requestedRevision = required('pull', 'revision', values.revision);
  const task = parseTask('pull', values.task);
  if (task === 'language-identification') {
    throw new UsageError(
      'pull: language-identification bundles are converted from fastText: use "models convert-fasttext".',
    );
  }
  const dtype = parseDtype('pull', values.dtype);
  const endpoint = values.endpoint ?? deps.env.HF_ENDPOINT ?? 'https://huggingface.co';
  try {
    new URL(endpoint);
  } catch {
    throw new UsageError(
      `pull: invalid --endpoint ${JSON.stringify(endpoint)}: use a URL such as https://huggingface.co.`,
    );
  }
  const { dir, manifest } = await pullBundle({
    repo,
    revision: requestedRevision,
    task,
    dtype,
    out: values.out ?? DEFAULT_OUT,
    name: values.name,
    version: values.version,
    endpoint,
    token: deps.env.HF_TOKEN,
    retryBaseMs: deps.retryBaseMs,
    io: deps.io,
  });
  deps.io.out(`${dir} ${manifest.name}@${manifest.version} ${manifest.task} ${manifest.files.length} files`);
  return 0;
};

/** What `pullBundle` needs: `runPull`'s flags, checked. */
export interface PullOptions {
  repo: string;
  revision: string;
  /** The task to pull for; undefined takes the repository's Hub `pipeline_tag`. */
  task: Task | undefined;
  dtype: Dtype;
  out: string;
  /** Default: the repository name, lowercased. */
  name?: string;
  /** Default: the first 12 characters of the commit sha. */
  version?: string;
  endpoint: string;
  token?: string;
  retryBaseMs: number;
  io: Deps['io'];
}

/**
 * A Hub revision to a local bundle pinned to its commit: exactly the files the task needs,
 * each LFS file checked against the sha256 the Hub lists for it. `models pull` and the
 * import function (`model-packaging/import-model.ts`) both call it. A failure writes no
 * manifest (a file that fails its checksum is deleted; cut-off `.part` files stay for the
 * next run to resume).
 *
 * @example
 * await pullBundle({ repo: 'org/model', revision: 'main', task: 'text-classification', dtype: 'fp32', out: '.data/registry', endpoint, retryBaseMs: 500, io });
 * // => { dir: '.data/registry/model/<sha12>', manifest: { … }, commit: '<sha>' }
 */
export const pullBundle = async (o: PullOptions): Promise<{ dir: string; manifest: Manifest; commit: string }> => {
  const hub = new HubClient({
    endpoint: o.endpoint,
    token: o.token,
    retryBaseMs: o.retryBaseMs,
    onRetry: (what, attempt, reason) => o.io.err(`${what}: attempt ${attempt} failed (${reason}), retrying`),
  });
  const { sha, files: available, lfs, pipelineTag } = await hub.revision(o.repo, o.revision, { blobs: true });
  const task = o.task ?? taskOfPipelineTag(pipelineTag);
  if (task === undefined) {
    throw new CommandError(
      `pull: ${o.repo} has no task this service serves (its Hub pipeline_tag is ${JSON.stringify(pipelineTag ?? null)}); name one with --task, or ask for it on a route of its task (/v1/chat/completions: text-generation).`,
    );
  }
  const name = checkName('pull', o.name ?? (o.repo.split('/').pop() ?? o.repo).toLowerCase());
  const version = checkVersion('pull', o.version ?? sha.slice(0, 12));
  const wanted = taskFiles(task, o.dtype);
  const missing = wanted.required.filter((f) => !available.includes(f));
  if (missing.length > 0) {
    throw new CommandError(
      `pull: ${o.repo}@${sha.slice(0, 12)} lacks ${oneOf(missing)} needed for ${task} (${o.dtype}); ONNX files it has: ${oneOf(available.filter((f) => f.endsWith('.onnx')))}.`,
    );
  }
  const files = [...wanted.required, ...wanted.optional.filter((f) => available.includes(f))];
  const dir = await freshBundleDir('pull', o.out, name, version);
  o.io.err(`pull: ${o.repo}@${o.revision} -> ${sha}, ${files.length} files -> ${dir}`);
  const progress = createProgress(o.io);
  try {
    for (const file of files) {
      const dest = path.join(dir, file);
      await hub.download(o.repo, sha, file, dest, (done, total) => progress.update(file, done, total));
      const want = lfs[file];
      if (want !== undefined && (await sha256File(dest)) !== want) {
        await rm(dest, { force: true });
        throw new CommandError(
          `pull: ${o.repo}/${file} at ${sha.slice(0, 12)} does not match the sha256 the Hub lists for it (${want.slice(0, 12)}…); the download or the Hub's copy is corrupt, nothing was kept.`,
        );
      }
    }
    const manifest = await finish(dir, {
      name,
      version,
      task,
      dtype: o.dtype,
      source: { type: 'hub', repo: o.repo, revision: sha, requestedRevision: o.revision, endpoint: hub.endpoint },
    });
    return { dir, manifest, commit: sha };
  } finally {
    progress.stop();
  }
};

/**
 * `models import`: a local folder to a bundle, copying only the files the task needs.
 *
 * @example
 * await runImport(['./export', '--task', 'translation', '--name', 'nllb', '--version', '1'], deps); // => 0
 */
export const runImport = async (argv: string[], deps: Deps): Promise<number> => {
  const { values, positionals } = parse('import', argv, {
    task: { type: 'string' },
    dtype: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    'chat-template': { type: 'string' },
  });
  if (values.help) {
    deps.io.out(IMPORT_HELP);
    return 0;
  }
  const source = path.resolve(positional('import', 'dir', positionals));
  const task = parseTask('import', values.task);
  const dtype = parseDtype('import', values.dtype);
  const name = checkName('import', required('import', 'name', values.name));
  const version = checkVersion('import', required('import', 'version', values.version));
  const chatOption = values['chat-template'];
  if (chatOption !== undefined && task !== 'text-generation') {
    throw new UsageError(`import: --chat-template is for text-generation models; this one is ${task}.`);
  }
  const chatTemplate = chatOption === undefined ? undefined : await readChatTemplate(chatOption);
  const present = async (f: string) =>
    access(path.join(source, f)).then(
      () => true,
      () => false,
    );
  const wanted = taskFiles(task, dtype);
  const missing: string[] = [];
  for (const f of wanted.required) if (!(await present(f))) missing.push(f);
  if (missing.length > 0) {
    throw new CommandError(`import: ${source} lacks ${oneOf(missing)} needed for ${task} (${dtype}).`);
  }
  const files = [...wanted.required];
  for (const f of wanted.optional) if (await present(f)) files.push(f);
  const dir = await freshBundleDir('import', values.out ?? DEFAULT_OUT, name, version);
  try {
    for (const file of files) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await copyFile(path.join(source, file), path.join(dir, file));
    }
    if (chatTemplate !== undefined && !(await setChatTemplate(dir, chatTemplate))) {
      deps.io.out(`import: the tokenizer already has a chat template; kept it (--chat-template ignored).`);
    }
    // A folder that is itself a bundle (e.g. convert-fasttext output) keeps its labels and languages.
    const previous = await readManifest(source).catch(() => undefined);
    const manifest = await writeManifest(dir, {
      name,
      version,
      task,
      dtype,
      source: { type: 'local', path: source },
      labels: previous?.labels ?? (await labelsOf(dir, task)),
      languages: previous?.languages,
      description: previous?.description,
    });
    deps.io.out(`${dir} ${manifest.name}@${manifest.version} ${manifest.task} ${manifest.files.length} files`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return 0;
};
