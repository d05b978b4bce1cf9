/**
 * Vitest global set-up: every temp folder the tests make (fs.mkdtempSync(os.tmpdir()), child
 * processes included) goes under one per-run root, removed when the run ends, so a test run
 * leaves nothing behind in the machine's /tmp.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-tests-'));
  const previous = process.env.TMPDIR;
  // Workers (pool: forks) and the lake child processes they spawn inherit this environment.
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.LAKE_KEEP_TEST_TMP) {
      console.log(`test temp folders kept in ${root}`);
      return;
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
}
