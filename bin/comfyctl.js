#!/usr/bin/env node
// `npx comfyctl`: package.json's bin must be JavaScript, so this loads the TypeScript entry through tsx.
require('tsx/cjs');
require('./comfyctl.ts');
