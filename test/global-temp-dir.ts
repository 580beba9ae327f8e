import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Vitest global setup: every temporary file of the run (synth outputs, moto recordings, simulator outputs,
 * the CLI tests' folders, and those of the Python servers the tests start) goes under one folder, removed when
 * the run ends. Test files and the processes they spawn inherit TMPDIR, which os.tmpdir() and Python's tempfile
 * read, so no test has to clean up after itself for the machine to stay clean.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const runDir = mkdtempSync(path.join(previous ?? os.tmpdir(), 'comfyui-eks-tests-'));
  process.env.TMPDIR = runDir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.KEEP_TEST_TMP) {
      console.log(`test files kept in ${runDir} (KEEP_TEST_TMP is set)`);
      return;
    }
    rmSync(runDir, { recursive: true, force: true });
  };
}
