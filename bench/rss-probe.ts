/**
 * Loaded with `node --import` into a benchmark's child process: writes the process's peak resident
 * memory (maxRSS, KiB), CPU time (user + system, ms) and the system (kernel) part of it as JSON to the file named by
 * LAKE_BENCH_RSS_FILE when it exits, so the parent can report the peak memory of `lake run`
 * (DuckDB's native memory and threads included) without changing lake. CPU time is the figure to
 * trust on a shared machine, where wall time depends on what else runs.
 */
import * as fs from 'node:fs';

const file = process.env.LAKE_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    fs.writeFileSync(file, JSON.stringify({ maxRssKb: u.maxRSS, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, sysMs: u.systemCPUTime / 1000 }));
  });
}
