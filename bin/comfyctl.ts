#!/usr/bin/env node
// comfyctl: invoke workflows, manage models and users, benchmark and verify a deployment. Logic lives in lib/cli/.
import { runComfyctl } from '../lib/cli/program';

void runComfyctl(process.argv).then((code) => { process.exitCode = code; });
