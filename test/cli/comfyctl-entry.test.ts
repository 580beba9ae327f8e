import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { runCaptured } from '../helpers/captured-comfyctl';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');

describe('comfyctl entry points', () => {
  it.each([
    ['npx tsx bin/comfyctl.ts', 'npx', ['tsx', 'bin/comfyctl.ts', '--help']],
    ['npm run comfyctl --', 'npm', ['run', '--silent', 'comfyctl', '--', '--help']],
    ['npx comfyctl (package.json bin)', 'npx', ['comfyctl', '--help']],
  ])('%s prints the command list', async (_name, command, args) => {
    const { stdout } = await run(command, args, { cwd: ROOT });
    for (const sub of ['invoke', 'models', 'bench', 'verify', 'users']) expect(stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
  });

  it('has --help with examples on the commands', async () => {
    for (const sub of ['invoke', 'bench', 'verify']) {
      const help = await runCaptured([sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Examples:');
    }
  });

  it("warns in verify's --help that it frees the GPUs' models, and lists its exit codes", async () => {
    const help = await runCaptured(['verify', '--help']);
    expect(help.stdout).toContain("verify FREES EVERY GPU'S MODELS (POST /free)");
    expect(help.stdout).toContain('run it before opening the node to users');
    expect(help.stdout).toContain('8 a check failed');
  });

  it('rejects a missing workflow argument or a malformed option value as a usage error', async () => {
    expect((await runCaptured(['invoke'])).code).toBe(EXIT.usage);
    const badGpu = await runCaptured(['invoke', 'w.json', '--gpu', 'two']);
    expect(badGpu.code).toBe(EXIT.usage);
    expect(badGpu.stderr).toContain("option '--gpu <index>' argument 'two' is invalid. expected an integer from 0 to 63");
    const badTimeout = await runCaptured(['invoke', 'w.json', '--timeout', '-1']);
    expect(badTimeout.stderr).toContain('expected a positive number of seconds');
  });

  it('names the missing workflow file and the missing URL', async () => {
    const noFile = await runCaptured(['invoke', 'no-such-workflow.json', '--url', 'http://127.0.0.1:1']);
    expect(noFile.stderr).toContain('cannot read workflow no-such-workflow.json: ENOENT');
    const noUrl = await runCaptured(['invoke', 'no-such-workflow.json', '--outputs', 'no-such-outputs.json']);
    expect(noUrl.code).toBe(EXIT.usage);
    expect(noUrl.stderr).toContain('no ComfyUI URL: pass --url (or set COMFYUI_URL)');
  });

  it('reads the URL from the deployment outputs file when --url is absent', async () => {
    const run = await runCaptured(['invoke', 'no-such-workflow.json', '--outputs', path.join(ROOT, 'test', 'fixtures', 'cdk-outputs.json')]);
    // The URL resolved (so the next problem reported is the workflow file).
    expect(run.stderr).toContain('cannot read workflow');
  });
});
