import { Command } from 'commander';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { openJobsApi } from '../jobs/job-requests';
import { formatTemplate } from './format-template';
import { parseTemplateRef } from './template-ref';
import { getTemplate } from './template-requests';

interface ShowFlags extends EndpointOptions {
  readonly json: boolean;
  readonly workflow: boolean;
}

/** `comfyctl templates show NAME[@VERSION]`: a version's inputs, or its workflow. */
export function registerShowCommand(templates: Command): void {
  withEndpointOptions(templates
    .command('show')
    .description('show a template version: its inputs (type, default, range) and how to run it')
    .argument('<name[@version]>', 'template, latest version unless @VERSION')
    .option('--json', "print the API's answer, workflow included", false)
    .option('--workflow', 'print only the API-format workflow (to edit and publish again)', false))
    .addHelpText('after', `
Examples:
  comfyctl templates show portrait
  comfyctl templates show portrait@2 --workflow > portrait_api.json`)
    .action(async (raw: string, flags: ShowFlags) => {
      const template = await getTemplate(openJobsApi(flags), parseTemplateRef(raw, 'template'));
      if (flags.workflow) process.stdout.write(`${JSON.stringify(template.workflow ?? {}, null, 2)}\n`);
      else process.stdout.write(flags.json ? `${JSON.stringify(template, null, 2)}\n` : `${formatTemplate(template)}\n`);
    });
}
