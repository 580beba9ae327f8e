import { describe, expect, test } from 'vitest';
import { describeExecutionError, formatJob, formatJobList } from '../../lib/cli/jobs/format-job';
import { progressPosition } from '../../lib/cli/jobs/job-progress';
import { JobPage, JobView } from '../../lib/cli/jobs/job-view';
import { listJobs, parseStatuses } from '../../lib/cli/jobs/list-jobs';
import { formatInputs, formatTemplate } from '../../lib/cli/templates/format-template';

const running: JobView = {
  id: '6f0c0000-aaaa-bbbb-cccc-000000000001', owner: 'alice', status: 'in_progress', create_time: Date.parse('2026-11-30T10:00:00Z'),
  execution_start_time: Date.parse('2026-11-30T10:00:01Z'),
  progress: { node: '3', node_type: 'KSampler', step: 12, steps: 20, nodes_done: 4, nodes_total: 7 },
  worker: { pod: 'comfyui-7d9', gpu: 1 }, attempt: 1,
};

describe('the progress of a job', () => {
  test('a running sampler: nodes done of the total, the node and its step', () => {
    expect(progressPosition(running)).toEqual({ value: 4, total: 7, label: '#3 KSampler step 12/20' });
  });

  test('pending says it waits for a GPU, and again after a runner stopped; cancel requests show', () => {
    expect(progressPosition({ id: 'j', status: 'pending' })).toEqual({ value: 0, total: 1, label: 'pending: waiting for an idle GPU' });
    expect(progressPosition({ id: 'j', status: 'pending', attempt: 1 }).label).toBe('pending again (its runner stopped): waiting for an idle GPU');
    expect(progressPosition({ ...running, cancel_requested: true }).label).toBe('#3 KSampler step 12/20 (cancel requested)');
  });

  test('started without progress yet names the pod and GPU; completed fills the bar', () => {
    expect(progressPosition({ ...running, progress: null }).label).toBe('started on comfyui-7d9 GPU 1');
    expect(progressPosition({ ...running, status: 'completed' })).toMatchObject({ value: 7, total: 7, label: 'completed' });
  });
});

describe('ComfyUI errors of a failed job', () => {
  test('an execution error names the node, the exception and the end of the traceback', () => {
    const text = describeExecutionError({
      node_id: '3', node_type: 'KSampler', exception_type: 'torch.OutOfMemoryError', exception_message: 'CUDA out of memory',
      traceback: ['Traceback (most recent call last):\n', '  File "execution.py", line 1\n', 'OutOfMemoryError: CUDA\n'],
    });
    expect(text).toContain('failed at #3 KSampler: torch.OutOfMemoryError: CUDA out of memory');
    expect(text).toContain('    OutOfMemoryError: CUDA');
  });

  test('a refused prompt lists its node errors', () => {
    const text = describeExecutionError({ type: 'prompt_rejected', exception_message: 'Prompt outputs failed validation', node_errors: { 4: { errors: [{ message: 'ckpt not found' }] } } });
    expect(text).toMatch(/^failed: ComfyUI refused the prompt: Prompt outputs failed validation\n  node #4: .*ckpt not found/);
    expect(describeExecutionError(null)).toBe('');
  });
});

describe('readable jobs', () => {
  test('get shows source, timings, progress and outputs with their size', () => {
    const done: JobView = {
      ...running, status: 'completed', execution_end_time: Date.parse('2026-11-30T10:00:13Z'),
      template: { name: 'portrait', version: 3, inputs: { prompt: 'a cat' } },
      outputs: [{ filename: 'ComfyUI_00001_.png', content_type: 'image/png', size: 2048 }],
    };
    const text = formatJob(done);
    expect(text).toMatch(/^job\s+6f0c0000-aaaa-bbbb-cccc-000000000001  completed$/m);
    expect(text).toMatch(/^source\s+portrait@3 prompt="a cat"$/m);
    expect(text).toMatch(/^finished\s+2026-11-30T10:00:13Z \(12\.0 s\)$/m);
    expect(text).toMatch(/ComfyUI_00001_\.png\s+image\/png\s+2\.0 KiB/);
    expect(text).not.toMatch(/^progress/m);
    expect(formatJob(running)).toMatch(/^progress\s+#3 KSampler step 12\/20, 4\/7 nodes$/m);
  });

  test('ls is one aligned line per job under a header', () => {
    const lines = formatJobList([running, { id: 'short', status: 'failed', owner: 'bob' }]).split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+CREATED\s+OWNER\s+SOURCE$/);
    expect(lines[1]).toMatch(/^6f0c\S+\s+in_progress\s+2026-11-30T10:00:00Z\s+alice\s+workflow$/);
    expect(lines[2].indexOf('failed')).toBe(lines[1].indexOf('in_progress'));
  });
});

describe('jobs ls paging', () => {
  /** Pages of a filtered listing: the second is empty but has a cursor, as a status filter can leave it. */
  function pages(...contents: string[][]): { read: (path: string) => Promise<JobPage>; paths: string[] } {
    const paths: string[] = [];
    return {
      paths,
      read: async (path) => {
        paths.push(path);
        const cursor = new URLSearchParams(path.split('?')[1]).get('cursor');
        const index = cursor === null ? 0 : Number(cursor);
        const next = index + 1 < contents.length ? String(index + 1) : null;
        return { jobs: contents[index].map((id) => ({ id, status: 'failed' })), next_cursor: next };
      },
    };
  }

  test('follows next_cursor past a short page until the limit, and says more match', async () => {
    const fake = pages(['a', 'b'], [], ['c', 'd'], ['e']);
    const listing = await listJobs(fake.read, { statuses: ['failed'], limit: 3 });
    expect(listing.jobs.map((j) => j.id)).toEqual(['a', 'b', 'c']);
    expect(listing.more).toBe(true);
    expect(fake.paths[0]).toBe('jobs?status=failed&limit=3');
    expect(fake.paths[1]).toBe('jobs?status=failed&limit=1&cursor=1');
    expect(fake.paths).toHaveLength(3);
  });

  test('--all reads every page', async () => {
    const fake = pages(['a'], ['b'], [], ['c']);
    const listing = await listJobs(fake.read, { owner: '*' });
    expect(listing.jobs.map((j) => j.id)).toEqual(['a', 'b', 'c']);
    expect(listing.more).toBe(false);
    expect(fake.paths[0]).toBe('jobs?owner=*&limit=100');
  });

  test('--status takes the contract statuses only', () => {
    expect(parseStatuses('pending, in_progress')).toEqual(['pending', 'in_progress']);
    expect(() => parseStatuses('running')).toThrow(/pending, in_progress, completed, failed, cancelled/);
  });
});

describe('readable templates', () => {
  test('show lists inputs with path, type, default and range, and how to run it', () => {
    const text = formatTemplate({
      name: 'portrait', version: 2, description: 'SDXL portrait', created_by: 'dana', create_time: Date.parse('2026-11-30T09:00:00Z'),
      inputs: [
        { name: 'prompt', node: '6', input: 'text', type: 'string', default: 'a cat', min: null, max: null },
        { name: 'seed', node: '3', input: 'seed', type: 'int', default: 5, min: 0, max: 99 },
      ],
    });
    expect(text).toMatch(/^template\s+portrait@2$/m);
    expect(text).toMatch(/^created\s+2026-11-30T09:00:00Z by dana$/m);
    expect(text).toMatch(/^seed\s+3\.seed\s+int\s+5\s+0\.\.99$/m);
    expect(text).toMatch(/^prompt\s+6\.text\s+string\s+"a cat"$/m);
    expect(text).toContain('run: comfyctl jobs submit --template portrait@2 --input prompt="a cat" --input seed=5');
    expect(formatInputs([])).toBe('INPUT  PATH  TYPE  DEFAULT  RANGE');
  });
});
