import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('OrtWorker', () => {
  it('starts in a process run with --input-type=module (a `node -e` script) and creates a session', async () => {
    // Prepare: a module script, as `node --input-type=module -e` runs the bundle tests' handlers.
    const script = `
      const { OrtWorker } = await import(${JSON.stringify(`${process.cwd()}/layers/runtime/ort-worker.ts`)});
      const worker = OrtWorker.start();
      const session = await worker.create('test/fixtures/models/tiny-distilbert-sentiment/1/onnx/model.onnx', {});
      process.stdout.write(JSON.stringify(session.inputMetadata.map((m) => m.name)));
      process.exit(0);`;

    // Act
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 60_000,
    });

    // Assess: the worker evaluated its CommonJS source and loaded the graph.
    expect(JSON.parse(stdout)).toEqual(expect.arrayContaining(['input_ids', 'attention_mask']));
  });
});
