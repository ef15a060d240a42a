import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '#local/stack.ts';
import { makeDocumentClient } from '#predictions/client.ts';

/** One repository the stand-in serves: a fixture bundle's files at one commit. */
export interface StandInRepo {
  /** A fixture bundle folder (its manifest.json lists the files served). */
  dir: string;
  sha: string;
  pipelineTag?: string;
  /** Bytes served instead of a file's own (a corrupt or foreign file). */
  replace?: Record<string, Buffer>;
  /** sha256 listed for a file instead of its real one (the Hub's checksum disagrees). */
  listedSha256?: Record<string, string>;
}

export interface HubStandIn {
  url: string;
  /** `GET <path>` of every request, in order. */
  requests: string[];
  close: () => Promise<void>;
}

/**
 * The Hub's two endpoints the packaging code reads, over fixture bundles: the revision API
 * (`/api/models/{repo}/revision/{rev}[?blobs=true]`: the commit, the files, each `.onnx`
 * file listed as an LFS file with its sha256, the `pipeline_tag`) and
 * `/{repo}/resolve/{sha}/{file}`. Any revision of a known repository resolves to its
 * commit; anything else is a 404, as the Hub answers an unknown repository.
 */
export const startHubStandIn = async (repos: Record<string, StandInRepo>): Promise<HubStandIn> => {
  const requests: string[] = [];
  const bytesOf = async (repo: StandInRepo, file: string): Promise<Buffer | undefined> =>
    repo.replace?.[file] ?? (await readFile(path.join(repo.dir, file)).catch(() => undefined));
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    requests.push(`GET ${url.pathname}`);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url.pathname);
    if (api) {
      const repo = repos[decodeURIComponent(api[1]!)];
      if (!repo) {
        res.statusCode = 404;
        res.end('{"error":"Repository not found"}');
        return;
      }
      const manifest = JSON.parse(await readFile(path.join(repo.dir, 'manifest.json'), 'utf8')) as {
        files: { path: string }[];
      };
      const siblings = await Promise.all(
        manifest.files.map(async (f) => {
          if (!f.path.endsWith('.onnx')) return { rfilename: f.path };
          const body = (await bytesOf(repo, f.path)) ?? Buffer.alloc(0);
          const sha256 = repo.listedSha256?.[f.path] ?? createHash('sha256').update(body).digest('hex');
          return { rfilename: f.path, lfs: { sha256, size: body.length } };
        }),
      );
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sha: repo.sha, pipeline_tag: repo.pipelineTag, siblings }));
      return;
    }
    const file = /^\/([^/]+\/[^/]+)\/resolve\/([a-f0-9]{40})\/(.+)$/.exec(url.pathname);
    const repo = file ? repos[decodeURIComponent(file[1]!)] : undefined;
    const body = repo && file?.[2] === repo.sha ? await bytesOf(repo, decodeURIComponent(file[3]!)) : undefined;
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-length', String(body.length));
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

/**
 * Puts a failed import job of `id` (`org/name@revision`) into the stack's jobs table, as a
 * request naming it would have left it: what the imports route's documented example reads.
 * Failed, so the local import poller leaves it alone and nothing reaches a Hub.
 */
export const seedFailedImport = async (api: LocalStack, id: string): Promise<void> => {
  const [repo = id, revision = 'main'] = id.split('@');
  const now = Date.now();
  await makeDocumentClient(api.config).send(
    new PutCommand({
      TableName: api.config.IMPORTS_TABLE,
      Item: {
        id,
        repo,
        revision,
        task: 'text-generation',
        status: 'failed',
        reason: 'pull: not found (404) at https://huggingface.co: check the repository id, revision and file.',
        createdAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
        updatedAtMs: now,
        attempts: 1,
      },
    }),
  );
};
