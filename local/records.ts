import { RECORDS_LINE_PREFIX } from '#predictions/log.ts';

/** How long the feed gathers lines before an ingestion. */
const BATCH_WINDOW_MS = 20;

/** True when a log line is a prediction records line (`layers/predictions/log.ts`). */
export const isRecordsLine = (line: string): boolean => line.startsWith(RECORDS_LINE_PREFIX);

/**
 * The emulator's twin of the CloudWatch Logs subscription: the records lines the
 * functions print (in this process or in instance processes) are queued here and given
 * to the ingester in batches, off the request's path, one batch at a time, in the order
 * they were printed. `settled()` resolves once every line queued so far is ingested: what
 * tests wait for before reading the table (bounded by the ingester's own timeouts).
 *
 * @example
 * const feed = new LocalRecordFeed((lines) => ingester.ingest(lines));
 * feed.add(line); await feed.settled(); // the records are in dynalite (or in a fallback line)
 */
export class LocalRecordFeed {
  private queue: string[] = [];
  private running: Promise<void> | undefined;
  /** Lines taken, and lines ingested (or sent to the fallback): the emulator's IncomingLogEvents. */
  lines = 0;
  ingested = 0;

  constructor(
    private readonly ingest: (lines: string[]) => Promise<unknown>,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  add(line: string): void {
    this.queue.push(line);
    this.lines += 1;
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    // Lets the answer leave first and the lines of requests answered meanwhile join one
    // batch (CloudWatch delivers in batches too, seconds apart): the ingestion shares the
    // emulator's event loop with the functions here, not in AWS.
    await new Promise<void>((resolve) => setTimeout(resolve, BATCH_WINDOW_MS));
    while (this.queue.length > 0) {
      const lines = this.queue.splice(0);
      await this.ingest(lines).catch(this.onError);
      this.ingested += lines.length;
    }
    this.running = undefined;
  }

  /** Resolves when every line added so far has been ingested. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }
}
