import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeManifest } from '#runtime/manifest.ts';
import { tempDir } from '../helpers/bundles.ts';

export const MODEL = 'tiny-distilbert-sentiment';
const FIXTURES = 'test/fixtures/models';

/**
 * A registry for the predict feature tests: the fixture model's versions 1 and 2 and its
 * aliases, plus versions `3` and `4` whose ONNX file is garbage (their manifest is valid, so
 * they resolve and download but fail to load: ensemble members that fail), and a model
 * `tiny-other-labels` whose manifest declares another label set.
 */
export const featureRegistry = async (): Promise<string> => {
  const root = await tempDir('predict-registry');
  await cp(path.join(FIXTURES, MODEL), path.join(root, MODEL), { recursive: true });
  for (const version of ['3', '4']) {
    const broken = path.join(root, MODEL, version);
    await cp(path.join(FIXTURES, MODEL, '1'), broken, { recursive: true });
    await writeFile(path.join(broken, 'onnx', 'model.onnx'), 'not an onnx graph');
    await writeManifest(broken, {
      name: MODEL,
      version,
      task: 'text-classification',
      labels: ['NEGATIVE', 'POSITIVE'],
      source: { type: 'local', path: broken },
    });
  }
  const other = path.join(root, 'tiny-other-labels', '1');
  await cp(path.join(FIXTURES, MODEL, '1'), other, { recursive: true });
  await writeManifest(other, {
    name: 'tiny-other-labels',
    version: '1',
    task: 'text-classification',
    labels: ['ANGRY', 'CALM', 'HAPPY'],
    source: { type: 'local', path: other },
  });
  return root;
};

export { goldenOf } from '../helpers/golden.ts';
