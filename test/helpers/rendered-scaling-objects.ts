import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderManifests } from '../../lib/manifests/render-manifests';
import { COMFYUI_NAMESPACE } from '../../lib/names';
import { fixtureManifestValues } from './rendered-manifests';

const REPO = path.join(__dirname, '..', '..');

/** The objects that decide ComfyUI's replica count, as the single-GPU overlay renders them for the fixture outputs. */
export interface RenderedScalingObjects {
  readonly namespace: any;
  readonly deployment: any;
  readonly scaledObject: any;
  readonly triggerAuthentication: any;
}

/** Renders test/fixtures/cdk-outputs.json with the default config and builds the single-gpu overlay with kustomize. */
export function renderedScalingObjects(): RenderedScalingObjects {
  const kustomize = path.join(REPO, 'build', 'tools', 'bin', 'kustomize');
  if (!fs.existsSync(kustomize)) throw new Error(`${kustomize} is missing: run \`bash scripts/manifest-tools.sh\` (npm test does)`);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keda-rendered-')), 'rendered');
  renderManifests({ values: fixtureManifestValues(), outDir: out });
  const built = spawnSync(kustomize, ['build', path.join(out, 'single-gpu')], { encoding: 'utf8', timeout: 120_000 });
  if (built.status !== 0) throw new Error(`kustomize build failed: ${built.stderr}`);
  const docs = parseAllDocuments(built.stdout).map((d) => d.toJS());
  const find = (kind: string, name?: string) => {
    const doc = docs.find((d) => d?.kind === kind && (name === undefined || d.metadata.name === name));
    if (!doc) throw new Error(`the single-gpu render has no ${kind}${name ? ` ${name}` : ''}`);
    return doc;
  };
  return {
    namespace: find('Namespace', COMFYUI_NAMESPACE),
    deployment: find('Deployment', 'comfyui'),
    scaledObject: find('ScaledObject'),
    triggerAuthentication: find('TriggerAuthentication'),
  };
}

/** Where the triggers reach on loopback, and the shortened timings of a test. */
export interface LoopbackScaling {
  /** The moto server every aws-sqs-queue trigger calls (KEDA's `awsEndpoint`). */
  readonly awsEndpoint: string;
  /** Queue URL in moto, by trigger name. */
  readonly queueUrls: Record<string, string>;
  /** The stand-in for the job runner's GET /scaling, for every metrics-api trigger. */
  readonly metricsApiUrl: string;
  readonly pollingInterval: number;
  readonly cooldownPeriod: number;
}

/**
 * The rendered ScaledObject with only what cannot be the same on loopback changed: SQS triggers read moto's queues
 * of the same names, the metrics-api trigger reads a local stand-in, and the timings are seconds, not minutes.
 * Targets, activation thresholds, fallback, HPA behavior and the TriggerAuthentication stay as rendered.
 */
export function scaledObjectOnLoopback(rendered: any, loopback: LoopbackScaling): any {
  const scaledObject = structuredClone(rendered);
  scaledObject.spec.pollingInterval = loopback.pollingInterval;
  scaledObject.spec.cooldownPeriod = loopback.cooldownPeriod;
  for (const trigger of scaledObject.spec.triggers) {
    if (trigger.type === 'aws-sqs-queue') {
      const url = loopback.queueUrls[trigger.name];
      if (!url) throw new Error(`no moto queue for the SQS trigger '${trigger.name}'`);
      Object.assign(trigger.metadata, { queueURL: url, awsEndpoint: loopback.awsEndpoint });
    } else if (trigger.type === 'metrics-api') {
      trigger.metadata.url = loopback.metricsApiUrl;
    } else {
      throw new Error(`no loopback stand-in for the ${trigger.type} trigger '${trigger.name}'`);
    }
  }
  return scaledObject;
}
