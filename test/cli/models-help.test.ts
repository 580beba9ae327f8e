import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { runCaptured } from '../helpers/captured-comfyctl';

const ROOT = path.join(__dirname, '..', '..');
const SUBCOMMANDS = ['upload', 'ls', 'rm', 'seed', 'status'];

describe('comfyctl models help', () => {
  test('the bin entry runs as a child process and lists every models command with examples', () => {
    const help = execFileSync('npx', ['tsx', 'bin/comfyctl.ts', 'models', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(help).toContain('Usage: comfyctl models');
    for (const sub of SUBCOMMANDS) expect(help).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(help).toContain('$ comfyctl models upload ./sd_xl_base_1.0.safetensors --type checkpoints');
  });

  test.each(SUBCOMMANDS)('models %s --help has a one-line description and examples', async (sub) => {
    const run = await runCaptured(['models', sub, '--help']);
    expect(run.code).toBe(0);
    const [usage, blank, description] = run.stdout.split('\n');
    expect(usage).toMatch(new RegExp(`^Usage: comfyctl models ${sub}`));
    expect(blank).toBe('');
    expect(description.length).toBeGreaterThan(20);
    expect(run.stdout).toContain(`Examples:\n  $ comfyctl models ${sub}`);
    expect(run.stdout).toContain('--endpoint-url');
  });

  test('upload without --type is a usage error that names the option', async () => {
    const run = await runCaptured(['models', 'upload', 'x.safetensors']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("required option '--type <folder>' not specified");
  });

  test('a part size under the S3 minimum is a usage error that quotes the value', async () => {
    const run = await runCaptured(['models', 'upload', 'x.safetensors', '--type', 'vae', '--part-size', '1']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("must be a whole number of MiB from 5 to 5120, got '1'");
  });
});
