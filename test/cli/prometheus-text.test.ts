import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../../lib/cli/verify/prometheus-text';

// Shaped like prometheus_client's generate_latest (what the multi-GPU image's /metrics answers).
const SCRAPE = `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4.0226816e+07
# HELP comfyui_gpu_prompts_total Prompts finished per GPU by outcome.
# TYPE comfyui_gpu_prompts_total counter
comfyui_gpu_prompts_total{gpu="0",outcome="success"} 12.0
comfyui_gpu_prompts_total{gpu="1",outcome="success"} 9.0
comfyui_gpu_queue_wait_seconds_bucket{gpu="0",le="+Inf"} 12.0
comfyui_weights_cache_disk_reads_total 1.0
comfyui_weights_cache_ram_hits_total 3.0
`;

describe('Prometheus text parsing', () => {
  it('reads unlabelled and labelled samples, skipping HELP and TYPE comments', () => {
    const samples = parsePrometheusText(SCRAPE);
    expect(samples).toHaveLength(6);
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBe(40_226_816);
    expect(sampleValue(samples, 'comfyui_weights_cache_ram_hits_total')).toBe(3);
    expect(sampleValue(samples, 'comfyui_gpu_prompts_total', { gpu: '1', outcome: 'success' })).toBe(9);
  });

  it('matches labels exactly: a labelled series is not the unlabelled one, a missing series is undefined', () => {
    const samples = parsePrometheusText(SCRAPE);
    expect(sampleValue(samples, 'comfyui_gpu_prompts_total')).toBeUndefined();
    expect(sampleValue(samples, 'comfyui_gpu_prompts_total', { gpu: '0' })).toBeUndefined();
    expect(sampleValue(samples, 'comfyui_weights_cache_bytes')).toBeUndefined();
  });

  it('reads +Inf, NaN, timestamps, escaped label values and a trailing comma', () => {
    const samples = parsePrometheusText([
      'a{le="+Inf"} +Inf',
      'b NaN',
      'c 7 1700000000000',
      'd{path="C:\\\\models\\"x\\"",note="two\\nlines",} 1',
    ].join('\n'));
    expect(sampleValue(samples, 'a', { le: '+Inf' })).toBe(Infinity);
    expect(sampleValue(samples, 'b')).toBeNaN();
    expect(sampleValue(samples, 'c')).toBe(7);
    expect(samples[3].labels).toEqual({ path: 'C:\\models"x"', note: 'two\nlines' });
  });

  it('skips lines it cannot read and keeps the rest', () => {
    const samples = parsePrometheusText('good 1\nbroken{gpu="0" 2\nno_value\n{x="y"} 3\nworse abc\nalso_good 4\n');
    expect(samples.map((s) => s.name)).toEqual(['good', 'also_good']);
  });
});
