import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { cleartextTokenWarning, commandLineTokenWarning, isLoopbackHost } from '../../lib/cli/token-exposure';
import { runCaptured } from '../helpers/captured-comfyctl';

const MISSING_WORKFLOW = path.join(__dirname, 'no-such-workflow.json');
const TOKEN_ON_COMMAND_LINE = commandLineTokenWarning('token', 'COMFYUI_TOKEN');
const CLEARTEXT = 'over plain http, readable by anyone on the network path';

/** Runs comfyctl with `env` set for the run only. */
async function runWithEnv(env: Record<string, string>, args: readonly string[]) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await runCaptured(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('isLoopbackHost', () => {
  test('counts 127.0.0.0/8, ::1 and localhost as this machine', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '[::1]', '::1', 'localhost', 'LOCALHOST', 'api.localhost']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
  });

  test('counts private addresses, look-alikes and public names as the network', () => {
    for (const host of ['10.0.0.5', '192.168.1.2', '128.0.0.1', '127.0.0.1.nip.io', 'localhost.example.com', '[::2]', 'example.com']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe('cleartextTokenWarning', () => {
  test('warns for http to another machine, naming the origin', () => {
    expect(cleartextTokenWarning('http://internal-alb-1.us-east-1.elb.amazonaws.com/api')).toContain(
      'the token goes to http://internal-alb-1.us-east-1.elb.amazonaws.com over plain http',
    );
  });

  test('stays quiet for https and for loopback http (a port-forward)', () => {
    expect(cleartextTokenWarning('https://d111111abcdef8.cloudfront.net')).toBeUndefined();
    expect(cleartextTokenWarning('http://127.0.0.1:8188')).toBeUndefined();
    expect(cleartextTokenWarning('http://[::1]:8188')).toBeUndefined();
    expect(cleartextTokenWarning('http://localhost:8188')).toBeUndefined();
  });
});

describe('comfyctl token warnings', () => {
  test('--token on the command line still works but warns once that ps and shell history show it, even with --quiet', async () => {
    const run = await runCaptured(['invoke', MISSING_WORKFLOW, '--url', 'http://127.0.0.1:1', '--token', 'alice.s3cret', '--quiet']);
    // The run went on to its next problem, so the option was accepted.
    expect(run.stderr).toContain('cannot read workflow');
    expect(run.stderr.split(TOKEN_ON_COMMAND_LINE)).toHaveLength(2);
    expect(run.stderr).toContain('set COMFYUI_TOKEN instead');
    expect(run.stdout).toBe('');
  });

  test('COMFYUI_TOKEN from the environment gets no warning', async () => {
    const run = await runWithEnv({ COMFYUI_TOKEN: 'alice.s3cret' }, ['invoke', MISSING_WORKFLOW, '--url', 'http://127.0.0.1:1']);
    expect(run.stderr).toContain('cannot read workflow');
    expect(run.stderr).not.toContain('warning');
  });

  test.each(['bench', 'verify'])('%s warns about --token on the command line too', async (sub) => {
    const run = await runCaptured([sub, '--url', 'http://127.0.0.1:1', '--token', 'alice.s3cret', '--quiet', '--timeout', '1']);
    expect(run.stderr).toContain(TOKEN_ON_COMMAND_LINE);
  });

  test('a token bound for plain http on another host warns once that it crosses the network in clear text', async () => {
    const run = await runWithEnv({ COMFYUI_TOKEN: 'alice.s3cret' }, ['invoke', MISSING_WORKFLOW, '--url', 'http://10.0.0.5:8188', '--quiet']);
    expect(run.stderr.split(CLEARTEXT)).toHaveLength(2);
    expect(run.stderr).toContain('the token goes to http://10.0.0.5:8188');
    expect(run.stderr).not.toContain('alice.s3cret');
  });

  test('no clear-text warning without a token, or for https', async () => {
    const noToken = await runWithEnv({ COMFYUI_TOKEN: '' }, ['invoke', MISSING_WORKFLOW, '--url', 'http://10.0.0.5:8188']);
    expect(noToken.stderr).not.toContain('warning');
    const https = await runWithEnv({ COMFYUI_TOKEN: 'alice.s3cret' }, ['invoke', MISSING_WORKFLOW, '--url', 'https://d111111abcdef8.cloudfront.net']);
    expect(https.stderr).not.toContain('warning');
  });

  test('models seed warns about --hf-token on the command line, not about HF_TOKEN', async () => {
    const args = ['models', 'seed', path.join(__dirname, 'no-such-manifest.json'), '--bucket', 'b', '--region', 'us-east-1'];
    const flag = await runCaptured([...args, '--hf-token', 'hf_secret']);
    expect(flag.stderr).toContain(commandLineTokenWarning('hf-token', 'HF_TOKEN'));
    expect(flag.stderr).toContain('not found');
    const env = await runWithEnv({ HF_TOKEN: 'hf_secret' }, args);
    expect(env.stderr).toContain('not found');
    expect(env.stderr).not.toContain('warning');
  });

  test("models seed --help says the token goes to the exact host, not to Hugging Face's CDN subdomains", async () => {
    const help = await runCaptured(['models', 'seed', '--help']);
    expect(help.stdout).toContain('matched exactly: not to their subdomains');
    expect(help.stdout).toContain('cdn-lfs.huggingface.co');
  });
});
