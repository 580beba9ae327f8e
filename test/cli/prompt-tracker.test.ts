import { describe, expect, it } from 'vitest';
import { percentile, summarizePhase } from '../../lib/cli/comfyui/bench-report';
import { BatchPrompt } from '../../lib/cli/comfyui/prompt-batch';
import { PromptTracker } from '../../lib/cli/comfyui/prompt-tracker';

const msg = (type: string, data: Record<string, unknown>) => ({ type, data });

describe('prompt tracker', () => {
  it('follows its own prompt and ignores messages of other prompts', () => {
    const t = new PromptTracker('mine');
    expect(t.apply(msg('executing', { node: '3', prompt_id: 'other' }))).toBe(false);
    expect(t.phase).toBe('queued');
    t.apply(msg('execution_start', { prompt_id: 'mine' }));
    t.apply(msg('executing', { node: '3', prompt_id: 'mine' }));
    t.apply(msg('progress', { value: 4, max: 20, node: '3', prompt_id: 'mine' }));
    expect(t).toMatchObject({ phase: 'running', currentNode: '3', step: { value: 4, max: 20 } });
    t.apply(msg('executing', { node: '9', prompt_id: 'mine' }));
    expect(t.finishedNodes.has('3')).toBe(true);
    expect(t.step).toBeUndefined();
  });

  it('treats executing with node null as the end of a successful prompt', () => {
    const t = new PromptTracker('p');
    t.apply(msg('executing', { node: '3', prompt_id: 'p' }));
    t.apply(msg('executed', { node: '9', output: { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] }, prompt_id: 'p' }));
    t.apply(msg('executing', { node: null, prompt_id: 'p' }));
    expect(t.phase).toBe('succeeded');
    expect(t.outputFiles()).toEqual([{ filename: 'a.png', subfolder: '', type: 'output' }]);
  });

  it('records an execution error with its node and exception, and stays failed', () => {
    const t = new PromptTracker('p');
    t.apply(msg('execution_error', { prompt_id: 'p', node_id: '3', node_type: 'KSampler', exception_type: 'torch.OutOfMemoryError', exception_message: 'CUDA out of memory\n' }));
    t.apply(msg('executing', { node: null, prompt_id: 'p' }));
    expect(t.phase).toBe('failed');
    expect(t.failure).toEqual({ nodeId: '3', nodeType: 'KSampler', exceptionType: 'torch.OutOfMemoryError', message: 'CUDA out of memory' });
  });

  it('reads queue length from status messages', () => {
    const t = new PromptTracker('p');
    t.apply(msg('status', { status: { exec_info: { queue_remaining: 7 } } }));
    expect(t.queueRemaining).toBe(7);
  });

  it('finishes from a history entry: outputs of every kind, and the error it recorded', () => {
    const ok = new PromptTracker('p');
    ok.applyHistory({
      outputs: { 9: { images: [{ filename: 'a.png', subfolder: 'sub', type: 'output' }] }, 12: { gifs: [{ filename: 'v.mp4', subfolder: '', type: 'output' }], text: ['hi'] } },
      status: { status_str: 'success', completed: true, messages: [['execution_start', {}], ['execution_success', {}]] },
    });
    expect(ok.phase).toBe('succeeded');
    expect(ok.outputFiles().map((f) => f.filename)).toEqual(['a.png', 'v.mp4']);

    const failed = new PromptTracker('q');
    failed.applyHistory({ outputs: {}, status: { status_str: 'error', completed: false, messages: [['execution_error', { node_id: '2', exception_message: 'boom' }]] } });
    expect(failed.phase).toBe('failed');
    expect(failed.failure?.message).toBe('boom');
  });
});

describe('benchmark figures', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([], 50)).toBe(0);
  });

  it('computes throughput from first submission to last completion, and counts prompts by the GPU that ran them', () => {
    const prompt = (id: string, submittedAt: number, startedAt: number, finishedAt: number, gpu: number): BatchPrompt => {
      const tracker = new PromptTracker(id);
      tracker.phase = 'succeeded';
      return { tracker, submittedAt, startedAt, finishedAt, routedGpu: 0, executedGpu: gpu };
    };
    const summary = summarizePhase('2 GPUs', [prompt('a', 0, 0, 1000, 0), prompt('b', 0, 0, 1000, 1), prompt('c', 0, 1000, 2000, 1), prompt('d', 0, 1000, 2000, 0)]);
    expect(summary.throughput).toBeCloseTo(2);
    expect(summary.perGpu).toEqual({ 0: 2, 1: 2 });
    expect(summary.latencyMs.p50).toBe(1000);
    expect(summary.latencyMs.p99).toBe(2000);
    expect(summary.executionMs?.p50).toBe(1000);
  });
});
