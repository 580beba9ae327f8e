import { Command } from 'commander';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { openJobsApi } from '../jobs/job-requests';
import { formatTemplateList } from './format-template';
import { registerPublishCommand } from './publish-command';
import { registerShowCommand } from './show-command';
import { listTemplates, removeTemplate } from './template-requests';

/** `comfyctl templates ...`: versioned workflows with named inputs that `jobs submit --template` runs. */
export function registerTemplatesCommands(program: Command): void {
  const templates = program
    .command('templates')
    .description('published workflows with named inputs, run by name with jobs submit --template: publish, ls, show, rm');
  registerPublishCommand(templates);

  withEndpointOptions(templates.command('ls'))
    .description('list the published templates and their latest versions')
    .option('--json', 'print the list as JSON', false)
    .action(async (flags: EndpointOptions & { json: boolean }) => {
      const list = await listTemplates(openJobsApi(flags));
      if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length > 0) process.stdout.write(`${formatTemplateList(list)}\n`);
      if (list.length === 0) process.stderr.write("no templates yet: 'comfyctl templates publish NAME FILE --input ...' adds one\n");
    });

  registerShowCommand(templates);

  withEndpointOptions(templates.command('rm').argument('<name>', 'template name'))
    .description('remove a template, every version (the bucket keeps old versions 30 days)')
    .action(async (name: string, flags: EndpointOptions) => {
      await removeTemplate(openJobsApi(flags), name);
      process.stdout.write(`removed template ${name} (every version)\n`);
    });

  templates.addHelpText('after', `
Examples:
  $ comfyctl templates publish portrait portrait_api.json --input prompt=6.text --input seed=3.seed:0:4294967295
  $ comfyctl templates ls
  $ comfyctl templates show portrait@2
  $ comfyctl templates rm portrait`);
}
