import cliProgress from 'cli-progress';
import type { Progress } from '../migrate/secret-sweep.ts';

/**
 * A progress bar on stderr for long data passes (the secret sweep), for a person at a terminal; the runner reports
 * progress lines instead when there is no TTY or with --json. One bar per task, started at its first event.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  let bar: cliProgress.SingleBar | null = null;
  return (p) => {
    if (!bar) {
      bar = new cliProgress.SingleBar(
        { stream, format: `  ${p.task} [{bar}] {percentage}% | {value}/{total} rows | {eta_formatted} left`, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.totalRows, p.doneRows);
    }
    bar.update(p.doneRows);
    if (p.finished) {
      bar.stop();
      bar = null;
    }
  };
}
