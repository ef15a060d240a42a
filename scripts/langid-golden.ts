import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CORPUS_SAMPLE,
  corpusLines,
  FTZ,
  fasttextOutput,
  GOLDEN,
  GOLDEN_COMMAND,
  hasFasttext,
} from '../test/helpers/langid-reference.ts';

/**
 * `npx tsx scripts/langid-golden.ts`: records native fastText's answers for the committed
 * corpus sample (test/fixtures/corpus/messages-sample.tsv) in test/fixtures/corpus/lid176-top1.txt,
 * exactly as `fasttext predict-prob lid.176.ftz - 1` prints them, one line per line of
 * corpusLines(). The parity test compares the ONNX model with this file on every run, and
 * where `fasttext` is installed it runs fastText again and checks the file still says the same.
 * Needs Debian's fasttext (`apt-get install fasttext`).
 */
if (!hasFasttext()) {
  console.error(`${GOLDEN_COMMAND} needs the fasttext binary on PATH: apt-get install -y fasttext`);
  process.exit(2);
}
const lines = corpusLines();
writeFileSync(GOLDEN, `${fasttextOutput(lines, FTZ).join('\n')}\n`);
const rel = (p: string) => path.relative(process.cwd(), p);
console.log(`${rel(GOLDEN)}: fastText's top-1 for the ${lines.length} lines of ${rel(CORPUS_SAMPLE)}`);
