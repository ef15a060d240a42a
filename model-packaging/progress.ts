import cliProgress from 'cli-progress';
import { formatBytes, type Io } from './common.ts';

/** Per-file download progress: bars on a terminal, a plain line per quarter otherwise (CI logs stay short). */
export interface Progress {
  update(file: string, done: number, total: number): void;
  stop(): void;
}

/**
 * Progress reporter for downloads and uploads.
 *
 * @example
 * const p = createProgress(io); p.update('onnx/model.onnx', 512, 1024); p.stop();
 * // non-TTY stderr: "onnx/model.onnx: 50% of 1.0 KiB"
 */
export const createProgress = (io: Io): Progress => {
  if (io.isTTY && io.stderr) {
    const multi = new cliProgress.MultiBar(
      {
        stream: io.stderr,
        // File first and a short bar: a long path must not push the numbers off an 80-column terminal.
        format: '{file} {bar} {percentage}% {value}/{total} B',
        barsize: 20,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, cliProgress.SingleBar>();
    return {
      update(file, done, total) {
        let bar = bars.get(file);
        if (!bar) {
          bar = multi.create(total, 0, { file });
          bars.set(file, bar);
        }
        bar.setTotal(total);
        bar.update(done, { file });
      },
      stop: () => multi.stop(),
    };
  }
  const lastQuarter = new Map<string, number>();
  return {
    update(file, done, total) {
      const quarter = total > 0 ? Math.floor((done / total) * 4) : 4;
      if ((lastQuarter.get(file) ?? -1) >= quarter) return;
      lastQuarter.set(file, quarter);
      io.err(`${file}: ${Math.min(100, quarter * 25)}% of ${formatBytes(total)}`);
    },
    stop() {},
  };
};
