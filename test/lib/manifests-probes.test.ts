import { describe, expect, test } from 'vitest';
import { findDocument, renderedBase } from '../helpers/rendered-manifests';

/**
 * comfyui_probe.py's `ready` and `alive` checks each make two HTTP calls one after the other (/system_stats, then
 * the multi-GPU image's /readyz or /healthz), each allowed `--timeout` seconds. The kubelet counts a probe that
 * outlives its timeoutSeconds as failed, so both calls and Python's start-up must fit in it, or a busy but healthy
 * server fails its probes (and liveness failures restart it, killing its prompts).
 */
const CALLS_PER_CHECK = 2;
const STARTUP_SECONDS = 2;

describe("the ComfyUI container's probes fit their own timeouts", () => {
  const container = findDocument(renderedBase(), 'Deployment', 'comfyui').spec.template.spec.containers
    .find((c: any) => c.name === 'comfyui');

  for (const [probe, check] of [['readinessProbe', 'ready'], ['livenessProbe', 'alive']] as const) {
    test(`${probe}: ${CALLS_PER_CHECK} calls of --timeout seconds plus start-up fit timeoutSeconds`, () => {
      const { command } = container[probe].exec;
      expect(command).toContain(check);
      const perCall = Number(/^--timeout=(\d+(?:\.\d+)?)$/.exec(command.find((a: string) => a.startsWith('--timeout=')))?.[1]);
      expect(perCall).toBeGreaterThan(0);
      expect(CALLS_PER_CHECK * perCall + STARTUP_SECONDS).toBeLessThanOrEqual(container[probe].timeoutSeconds);
    });
  }
});
