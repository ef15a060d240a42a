/**
 * One cold Lambda instance, as a child process of the racing test: its own registry client
 * and model store on the shared cache folder (EFS). It loads its modules, says `ready`,
 * waits for `go` (so all instances start together), fetches the model, checks every file it
 * got against the manifest, and reports.
 *
 * Arguments: <s3 endpoint> <bucket> <prefix> <cache folder> <name> <version>
 */
import { Registry } from '#runtime/registry.ts';
import { ModelStore } from '#runtime/store.ts';
import { S3ObjectStore } from '#storage/s3-object-store.ts';

export interface ColdInstanceReport {
  fetched: boolean;
  fetchedFiles: number;
  /** Files that did not match the manifest when this instance read them: must be none. */
  changed: string[];
  error?: string;
}

const [endpoint, bucket, prefix, cacheDir, name, version] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const store = new ModelStore({
  registry: new Registry(new S3ObjectStore({ bucket, prefix, endpoint })),
  cacheDir,
  pollMs: 10,
});
const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

process.once('message', async () => {
  let report: ColdInstanceReport;
  try {
    const bundle = await store.ensure(name, version);
    report = { fetched: bundle.fetched, fetchedFiles: store.fetchedFiles, changed: await store.verify(bundle) };
  } catch (error) {
    report = { fetched: false, fetchedFiles: store.fetchedFiles, changed: [], error: String(error) };
  }
  await send(report);
  process.disconnect();
});
await send('ready');
