#!/usr/bin/env node
/**
 * npm run render -- --outputs cdk-outputs.json | --example  [--out build/manifests] [--image-tag TAG]
 * Writes ready-to-apply kustomize folders: kubectl apply -k build/manifests/single-gpu (or multi-gpu).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { loadConfig } from '../lib/config';
import { manifestsLeftOut } from '../lib/manifests/job-runner-values';
import { manifestValues } from '../lib/manifests/manifest-values';
import { OVERLAYS, renderManifests } from '../lib/manifests/render-manifests';
import {
  exampleJobsStackValues,
  exampleStackValues,
  jobsStackValuesFromOutputs,
  stackValuesFromOutputs,
} from '../lib/manifests/stack-values';
import { COMFYUI_IMAGE_TAG } from '../lib/versions';

const USAGE = `usage: npm run render -- (--outputs cdk-outputs.json | --example) [--out DIR] [--image-tag TAG]

  --outputs FILE   values from 'npx cdk deploy --all --outputs-file FILE'
  --example        example values from the default config (for tests and reading)
  --out DIR        where to write (default build/manifests; replaced as a whole)
  --image-tag TAG  ComfyUI image tag in the ECR repository (default ${COMFYUI_IMAGE_TAG})
  Settings (replicas, GPU limits, instance families...) come from cdk.json's "comfyui" context, as for cdk.`;

function main(): void {
  const { values: args } = parseArgs({
    options: {
      outputs: { type: 'string' },
      example: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join('build', 'manifests') },
      'image-tag': { type: 'string', default: COMFYUI_IMAGE_TAG },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (args.help) return console.log(USAGE);
  if (Boolean(args.outputs) === args.example) throw new Error(`give exactly one of --outputs FILE or --example\n${USAGE}`);

  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
  const config = loadConfig((key) => cdkJson.context?.[key], process.env);
  const outputs = args.outputs ? JSON.parse(readFileSync(args.outputs, 'utf8')) : undefined;
  const stack = outputs ? stackValuesFromOutputs(outputs, args.outputs!) : exampleStackValues(config);
  // The jobs stack exists only with config `jobs`; without it the job runner is left out.
  const jobs = !config.jobs ? undefined : outputs ? jobsStackValuesFromOutputs(outputs, args.outputs!) : exampleJobsStackValues(config);
  const values = manifestValues(stack, config, args['image-tag']!, jobs);
  const written = renderManifests({ values, outDir: args.out!, leftOut: manifestsLeftOut(config) });
  console.log(`rendered ${written.length} files into ${args.out} (${args.example ? 'example values' : args.outputs})`);
  for (const overlay of OVERLAYS) console.log(`  kubectl apply -k ${path.join(args.out!, overlay)}`);
}

try {
  main();
} catch (error) {
  console.error(`render failed: ${(error as Error).message}`);
  process.exit(1);
}
