import { Command } from 'commander';
import { checkTemplateName, deriveTemplateInputs } from '../../jobs/templates';
import { EXIT } from '../cli-error';
import { EndpointOptions, withEndpointOptions } from '../comfyui/endpoint-options';
import { loadApiWorkflow } from '../comfyui/workflow';
import { openJobsApi } from '../jobs/job-requests';
import { checkLikeTheApi } from '../jobs/local-check';
import { collect } from '../option-parsers';
import { formatInputs } from './format-template';
import { parseInputBindings } from './template-inputs';
import { publishTemplate } from './template-requests';

interface PublishFlags extends EndpointOptions {
  readonly input?: string[];
  readonly description?: string;
}

/** `comfyctl templates publish NAME FILE --input name=node.input ...`: a new version of a template. */
export function registerPublishCommand(templates: Command): void {
  withEndpointOptions(templates
    .command('publish')
    .description('publish a tested API-format workflow as the next version of a template, with named inputs')
    .argument('<name>', 'template name')
    .argument('<file>', 'workflow JSON in ComfyUI\'s API format ("Export (API)")')
    .option('--input <name=node.input[:min:max]>', 'a named input (repeatable): where its value goes, optional bounds', collect)
    .option('--description <text>', 'what the template makes, shown by templates ls'))
    .addHelpText('after', `
The node ids and input names are those of the API-format file ("6": {"inputs": {"text": ...}} is 6.text).
The input's type and default come from the workflow's value.

Examples:
  comfyctl templates publish portrait portrait_api.json --input prompt=6.text --input seed=3.seed:0:4294967295 \\
    --description "SDXL portrait, 1024x1024"`)
    .action(async (name: string, file: string, flags: PublishFlags) => {
      checkLikeTheApi(() => checkTemplateName(name, 'template name'));
      const workflow = loadApiWorkflow(file);
      const inputs = parseInputBindings(flags.input ?? []);
      // The API derives the same schema from the same code; checking here names a wrong path before any upload.
      checkLikeTheApi(() => deriveTemplateInputs(workflow, inputs), EXIT.validation);
      const published = await publishTemplate(openJobsApi(flags), name, {
        workflow, inputs, ...(flags.description === undefined ? {} : { description: flags.description }),
      });
      process.stdout.write(`published ${published.name}@${published.version}\n${formatInputs(published.inputs ?? [])}\n`);
    });
}
