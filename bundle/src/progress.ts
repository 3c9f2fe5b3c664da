import cliProgress from 'cli-progress';

/** Bytes as a person reads them: 1.4 GB, 730 MB, 12 kB (SI units, like disk vendors and `ls -h --si`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export interface ByteProgress {
  update(done: number): void;
  stop(): void;
}

const silent: ByteProgress = { update() {}, stop() {} };

/**
 * A progress bar on stderr showing bytes, percent, rate and ETA, only when stderr is a
 * terminal (logs and pipes stay clean).
 */
export function byteProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ByteProgress {
  if (!stream.isTTY || total <= 0) return silent;
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: (options, params) => {
        const done = params.value;
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
        const rate = done / seconds;
        const eta = rate > 0 ? Math.ceil((params.total - done) / rate) : 0;
        const width = options.barsize ?? 30;
        const filled = Math.round(params.progress * width);
        const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
        const percent = (params.progress * 100).toFixed(0).padStart(3);
        return `${label} ${bar} ${percent}% ${formatBytes(done)}/${formatBytes(params.total)} ${formatBytes(rate)}/s ETA ${eta}s`;
      },
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done) => bar.update(Math.min(done, total)),
    stop: () => bar.stop(),
  };
}
