import { Command } from 'commander';
import { registerListCommand } from './list-command';
import { registerRemoveCommand } from './remove-command';
import { registerSeedCommand } from './seed-command';
import { registerStatusCommand } from './status-command';
import { registerUploadCommand } from './upload-command';

/** `comfyctl models ...`: the models bucket (ComfyUI's models/ layout) and the GPU nodes' sync of it. */
export function registerModelsCommands(program: Command): void {
  const models = program
    .command('models')
    .description('Manage the models bucket the GPU nodes sync from: upload, ls, rm, seed, status');
  registerUploadCommand(models);
  registerListCommand(models);
  registerRemoveCommand(models);
  registerSeedCommand(models);
  registerStatusCommand(models);
  models.addHelpText('after', `
Examples:
  $ comfyctl models upload ./sd_xl_base_1.0.safetensors --type checkpoints
  $ comfyctl models ls checkpoints
  $ comfyctl models rm loras/old.safetensors
  $ comfyctl models seed examples/models-seed.json
  $ comfyctl models status`);
}
