import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { KARPENTER_INTERRUPTION_EVENTS } from '../../lib/constructs/karpenter-interruption-rules';
import { HELM_CHART_VERSIONS } from '../../lib/versions';

/**
 * The events our interruption rules match, against Karpenter's own source at the pinned release: each parser
 * under pkg/controllers/interruption/messages/ declares the (source, detail-type) it handles. The module is the
 * one tools/manifest-tools.txt pins for the CRDs (checked against its hash there); `go mod download` reads it
 * from the module cache that scripts/manifest-tools.sh filled.
 */
const REPO = path.join(__dirname, '..', '..');

function karpenterModuleDir(): string {
  const pins = fs.readFileSync(path.join(REPO, 'tools', 'manifest-tools.txt'), 'utf8');
  const line = pins.split('\n').find((l) => l.startsWith('crd-module github.com/aws/karpenter-provider-aws@'));
  const [, spec, sum] = line!.split(/\s+/);
  const run = spawnSync('go', ['mod', 'download', '-json', spec], {
    encoding: 'utf8',
    env: { ...process.env, GOSUMDB: 'off', GOFLAGS: '-mod=mod' },
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`go mod download ${spec} failed (run scripts/manifest-tools.sh): ${run.stderr}${run.stdout}`);
  const module = JSON.parse(run.stdout);
  expect(module.Sum, `${spec} hash`).toBe(sum);
  return module.Dir;
}

function parsedEvents(moduleDir: string): { source: string; detailType: string }[] {
  const messages = path.join(moduleDir, 'pkg', 'controllers', 'interruption', 'messages');
  const returned = (text: string, method: string) =>
    new RegExp(`func \\(p Parser\\) ${method}\\(\\) string \\{\\s*return "([^"]+)"`).exec(text)?.[1];
  return fs.readdirSync(messages, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(messages, e.name, 'parser.go')))
    .map((e) => {
      const text = fs.readFileSync(path.join(messages, e.name, 'parser.go'), 'utf8');
      const source = returned(text, 'Source');
      const detailType = returned(text, 'DetailType');
      if (!source || !detailType) throw new Error(`${e.name}/parser.go no longer declares Source() and DetailType(): read it again`);
      return { source, detailType };
    });
}

describe("Karpenter's interruption events", () => {
  test('the pinned CRD module is the Helm chart release the cluster runs', () => {
    const pins = fs.readFileSync(path.join(REPO, 'tools', 'manifest-tools.txt'), 'utf8');
    expect(pins).toContain(`github.com/aws/karpenter-provider-aws@v${HELM_CHART_VERSIONS.karpenter} `);
  });

  test('are exactly the (source, detail-type) pairs Karpenter parses at that release', () => {
    const upstream = parsedEvents(karpenterModuleDir()).map((e) => `${e.source} / ${e.detailType}`).sort();
    const ours = Object.values(KARPENTER_INTERRUPTION_EVENTS).map((e) => `${e.source} / ${e.detailType}`).sort();
    expect(upstream.length).toBeGreaterThanOrEqual(4);
    expect(ours).toEqual(upstream);
    // What eks-blueprints 1.19.0 wrote, which no parser reads.
    expect(upstream).not.toContain('aws.ec2 / C2 Instance State-change Notification');
  });
});
