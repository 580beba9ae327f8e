import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { JobsCliHarness, SAMPLE_WORKFLOW, startJobsCliHarness } from '../helpers/jobs-cli-harness';

const DANA = 'dana.dana-secret';
const WORKFLOW = SAMPLE_WORKFLOW;

let harness: JobsCliHarness;
let dir: string;
const file = () => path.join(dir, 'portrait_api.json');

beforeAll(async () => {
  harness = await startJobsCliHarness({ [DANA]: 'dana' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'templates-cli-'));
  writeFileSync(file(), JSON.stringify(WORKFLOW));
  writeFileSync(path.join(dir, 'ui.json'), JSON.stringify({ nodes: [], links: [] }));
});

afterAll(async () => {
  await harness?.stop();
});

/** `comfyctl <args>` as dana. */
const comfyctl = (...args: string[]) => harness.comfyctl(DANA, ...args);

describe('comfyctl templates', () => {
  test('publish takes the next version and prints the derived input schema', async () => {
    const first = await comfyctl('templates', 'publish', 'portrait', file(), '--input', 'prompt=6.text', '--input', 'seed=3.seed:0:99',
      '--description', 'SDXL portrait');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^published portrait@1$/m);
    expect(first.stdout).toMatch(/^seed\s+3\.seed\s+int\s+5\s+0\.\.99$/m);
    expect(first.stdout).toMatch(/^prompt\s+6\.text\s+string\s+"a cat"$/m);
    const put = harness.edge.forwarded.find((r) => r.method === 'PUT')!;
    expect(JSON.parse(put.body.toString('utf8'))).toEqual({
      workflow: WORKFLOW, inputs: { prompt: '6.text', seed: { path: '3.seed', min: 0, max: 99 } }, description: 'SDXL portrait',
    });
    const second = await comfyctl('templates', 'publish', 'portrait', file(), '--input', 'prompt=6.text');
    expect(second.stdout).toMatch(/^published portrait@2$/m);
  });

  test("a binding the API would refuse, a bad name and a UI-format file are refused with the API's words before any upload", async () => {
    const before = harness.edge.forwarded.length;
    const bad = await comfyctl('templates', 'publish', 'broken', file(), '--input', 'prompt=99.text');
    expect(bad.code).toBe(EXIT.validation);
    expect(bad.stderr).toMatch(/inputs\.prompt: Input 'prompt' names node '99', which the workflow lacks/);
    const link = await comfyctl('templates', 'publish', 'broken', file(), '--input', 'model=3.model');
    expect(link.stderr).toMatch(/3\.model is a link to another node's output/);
    const name = await comfyctl('templates', 'publish', 'my portrait', file());
    expect(name.code).toBe(EXIT.usage);
    expect(name.stderr).toMatch(/Template name 'my portrait' must be 1-64 letters/);
    expect(harness.edge.forwarded.length).toBe(before);
    const ui = await comfyctl('templates', 'publish', 'broken', path.join(dir, 'ui.json'), '--input', 'prompt=6.text');
    expect(ui.code).toBe(EXIT.usage);
    expect(ui.stderr).toMatch(/"Export \(API\)"/);
  });

  test('ls lists templates with their latest version; show prints a version, its inputs or its workflow', async () => {
    const list = await comfyctl('templates', 'ls');
    expect(list.stdout).toMatch(/^portrait\s+2\s+\S+\s+/m);
    const latest = await comfyctl('templates', 'show', 'portrait');
    expect(latest.stdout).toMatch(/^template\s+portrait@2$/m);
    expect(latest.stdout).not.toMatch(/^seed/m);
    const v1 = await comfyctl('templates', 'show', 'portrait@1');
    expect(v1.stdout).toMatch(/^template\s+portrait@1$/m);
    expect(v1.stdout).toMatch(/^description\s+SDXL portrait$/m);
    expect(v1.stdout).toMatch(/^created\s+\S+Z by dana$/m);
    expect(v1.stdout).toContain('run: comfyctl jobs submit --template portrait@1 --input prompt="a cat" --input seed=5');
    const workflow = await comfyctl('templates', 'show', 'portrait@1', '--workflow');
    expect(JSON.parse(workflow.stdout)).toEqual(WORKFLOW);
  });

  test('jobs submit --template applies the inputs; a value out of bounds is the API error naming the input', async () => {
    const run = await comfyctl('jobs', 'submit', '--template', 'portrait@1', '--input', 'prompt=a lighthouse', '--input', 'seed=42');
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    const item = await harness.jobItem(id);
    const workflow = JSON.parse(item.workflow_json);
    expect(workflow[6].inputs.text).toBe('a lighthouse');
    expect(workflow[3].inputs.seed).toBe(42);
    expect(item.template).toMatchObject({ name: 'portrait', version: 1 });

    const out = await comfyctl('jobs', 'submit', '--template', 'portrait@1', '--input', 'seed=100');
    expect(out.code).toBe(EXIT.validation);
    expect(out.stderr).toMatch(/the jobs API refused the request: .*seed/);
    const unknown = await comfyctl('jobs', 'submit', '--template', 'portrait', '--input', 'steps=4');
    expect(unknown.code).toBe(EXIT.validation);
    expect(unknown.stderr).toMatch(/steps/);
  });

  test('rm removes every version; show then says how to find the published ones', async () => {
    const rm = await comfyctl('templates', 'rm', 'portrait');
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe('removed template portrait (every version)\n');
    const gone = await comfyctl('templates', 'show', 'portrait');
    expect(gone.code).toBe(EXIT.usage);
    expect(gone.stderr).toMatch(/template portrait not found: 'comfyctl templates ls' lists the published ones/);
    const none = await comfyctl('templates', 'ls');
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/no templates yet/);
  });
});
