import type { Manifest } from '#runtime/manifest.ts';
import { Registry } from '#runtime/registry.ts';
import { S3ObjectStore } from '#storage/s3-object-store.ts';
import { type Deps, parse, taskFiles, UsageError } from '../common.ts';
import { HubClient, type HubRevision } from '../hub.ts';
import { checkBucket, S3_OPTIONS, S3_OR_DIR_HELP, storeFor } from './registry.ts';

/** Exit code when at least one model's pinned commit is behind its Hub revision. */
export const OUTDATED_EXIT_CODE = 3;

export const OUTDATED_HELP = `Usage: models outdated (--bucket <b> | --dir <folder>) [--hub <url>] [options]

For each model pulled from the Hugging Face Hub, compares the commit its newest version
pins with the commit its requested revision (e.g. main) points at now, and lists what
changed: weights whose sha256 differ (the Hub reports sha256 for LFS files), files the
pinned bundle has that the Hub no longer has, and files the task would now take that the
bundle lacks. Models imported from a folder or converted are skipped.

Exit code: 0 every model is current, ${OUTDATED_EXIT_CODE} at least one is outdated, 1 a check failed
(unreachable Hub, repository gone), 2 a wrong command line.

Options:
  --hub <url>         Hub endpoint; default $HF_ENDPOINT or https://huggingface.co
${S3_OR_DIR_HELP}`;

/** What changed between a pinned bundle and the Hub's current commit of its revision. */
export interface HubChanges {
  changed: string[];
  removed: string[];
  added: string[];
}

/**
 * The files that differ between a bundle and a Hub revision: LFS files whose sha256
 * changed, bundle files gone from the Hub, and files the task takes that the Hub now has
 * and the bundle lacks. Files outside LFS (configs, tokenizers) carry no sha256 in the
 * Hub's listing, so a change to one shows only as a new commit.
 *
 * @example
 * hubChanges(manifest, { sha, files: ['onnx/model.onnx'], lfs: { 'onnx/model.onnx': 'ab…' } }).changed; // => ['onnx/model.onnx']
 */
export const hubChanges = (manifest: Manifest, current: HubRevision): HubChanges => {
  const pinned = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  const onHub = new Set(current.files);
  const wanted = taskFiles(manifest.task, manifest.dtype);
  return {
    changed: [...pinned]
      .filter(([file, sha]) => current.lfs[file] !== undefined && current.lfs[file] !== sha)
      .map(([f]) => f),
    removed: [...pinned.keys()].filter((file) => !onHub.has(file) && file !== 'golden.json'),
    added: [...wanted.required, ...wanted.optional].filter((file) => onHub.has(file) && !pinned.has(file)),
  };
};

interface Row {
  name: string;
  version: string;
  repo: string;
  revision: string;
  pinned: string;
  current: string;
  status: 'current' | 'outdated' | 'failed';
  details: string[];
}

/**
 * `models outdated`: the registry's Hub models whose pinned commit is behind the Hub.
 *
 * @example
 * await runOutdated(['--dir', '.data/registry'], deps); // => 0 (all current) or 3 (something outdated)
 */
export const runOutdated = async (argv: string[], deps: Deps): Promise<number> => {
  const { values } = parse('outdated', argv, { ...S3_OPTIONS, dir: { type: 'string' }, hub: { type: 'string' } });
  if (values.help) {
    deps.io.out(OUTDATED_HELP);
    return 0;
  }
  const endpoint = values.hub ?? deps.env.HF_ENDPOINT ?? 'https://huggingface.co';
  if (!URL.canParse(endpoint)) {
    throw new UsageError(
      `outdated: invalid --hub ${JSON.stringify(endpoint)}: use a URL such as https://huggingface.co.`,
    );
  }
  const store = storeFor('outdated', values);
  if (store instanceof S3ObjectStore) await checkBucket(store, 'outdated');
  const registry = new Registry(store, { ttlMs: 0 });
  const hub = new HubClient({ endpoint, token: deps.env.HF_TOKEN, retryBaseMs: deps.retryBaseMs, attempts: 3 });
  const rows: Row[] = [];
  let skipped = 0;
  for (const model of await registry.list()) {
    const version = model.versions[model.versions.length - 1]!;
    const manifest = await registry.manifest(model.name, version);
    if (manifest?.source.type !== 'hub') {
      skipped += 1;
      continue;
    }
    const { repo, revision: pinned, requestedRevision = 'main' } = manifest.source;
    const row = { name: model.name, version, repo, revision: requestedRevision, pinned, current: '-' };
    try {
      const current = await hub.revision(repo, requestedRevision, { blobs: true });
      if (current.sha === pinned) {
        rows.push({ ...row, current: current.sha, status: 'current', details: [] });
        continue;
      }
      const changes = hubChanges(manifest, current);
      const details = (['changed', 'removed', 'added'] as const).flatMap((kind) =>
        changes[kind].length > 0 ? [`${kind}: ${changes[kind].join(', ')}`] : [],
      );
      rows.push({ ...row, current: current.sha, status: 'outdated', details });
    } catch (error) {
      rows.push({ ...row, status: 'failed', details: [(error as Error).message] });
    }
  }
  const table = [
    ['NAME', 'VERSION', 'REPO', 'REVISION', 'PINNED', 'CURRENT', 'STATUS'],
    ...rows.map((r) => [
      r.name,
      r.version,
      r.repo,
      r.revision,
      r.pinned.slice(0, 12),
      r.current.slice(0, 12),
      r.status,
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const [i, cells] of table.entries()) {
    deps.io.out(
      cells
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
    for (const line of i > 0 ? rows[i - 1]!.details : []) deps.io.out(`  ${line}`);
  }
  if (skipped > 0) deps.io.err(`outdated: ${skipped} model(s) not pulled from the Hub, skipped`);
  if (rows.some((r) => r.status === 'failed')) return 1;
  return rows.some((r) => r.status === 'outdated') ? OUTDATED_EXIT_CODE : 0;
};
