import { randomUUID } from 'node:crypto';
import { TARGET_GPU_HEADER } from '../comfyui/comfyui-client';
import { CheckOutcome, fail, pass } from './check-result';
import { VerifyContext } from './verify-context';

/** How the server answered POST /prompt with one bad X-TARGET-GPU value. */
export interface BadHeaderAnswer {
  readonly value: string;
  readonly status: number;
  readonly body: string;
}

/** POSTs a valid workflow with X-TARGET-GPU = N (one past the last GPU) and = "abc", so only the header is wrong. */
export async function checkBadHeader(ctx: VerifyContext): Promise<CheckOutcome> {
  const answers: BadHeaderAnswer[] = [];
  for (const value of [String(ctx.gpus), 'abc']) {
    const body = JSON.stringify({ prompt: ctx.nextPrompt(), client_id: randomUUID() });
    const response = await ctx.client.send('POST', 'prompt', { body, headers: { [TARGET_GPU_HEADER]: value } });
    answers.push({ value, status: response.status, body: await response.text().catch(() => '') });
  }
  return judgeBadHeader(answers);
}

/** Every answer must be a 400 whose JSON error names the header. */
export function judgeBadHeader(answers: readonly BadHeaderAnswer[]): CheckOutcome {
  const figures = { answers: answers.map(({ value, status }) => ({ value, status })) };
  for (const answer of answers) {
    const sent = `${TARGET_GPU_HEADER}: ${answer.value}`;
    if (answer.status !== 400) {
      return fail(
        `${sent} answered HTTP ${answer.status}${answer.status === 200 ? ' (the prompt was queued)' : ''}, expected 400`,
        `the server ignores ${TARGET_GPU_HEADER}: is this the multi-GPU image with COMFY_MULTI_GPU_SCHED=1, and does no proxy strip the header?`,
        figures,
      );
    }
    if (!errorOf(answer.body)?.namesHeader) {
      return fail(
        `${sent} answered 400 without an error naming ${TARGET_GPU_HEADER}: ${answer.body.slice(0, 200)}`,
        "the workflow itself was rejected: run 'comfyctl invoke' with it to see why",
        figures,
      );
    }
  }
  const example = errorOf(answers[answers.length - 1].body)?.message;
  return pass(`${answers.map((a) => `${TARGET_GPU_HEADER}: ${a.value}`).join(' and ')} answered 400 naming the header ("${example}")`, figures);
}

/** The `error` of a JSON answer: its message, and whether it names the header anywhere; undefined if none. */
function errorOf(body: string): { message: string; namesHeader: boolean } | undefined {
  let error: unknown;
  try {
    error = (JSON.parse(body) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
  if (error === undefined || error === null) return undefined;
  const whole = JSON.stringify(error);
  const message = (error as { message?: unknown }).message;
  return { message: typeof message === 'string' ? message : whole, namesHeader: whole.includes(TARGET_GPU_HEADER) };
}
