import { InvalidArgumentError } from 'commander';
import { describe, expect, test } from 'vitest';
import { CliError, EXIT } from '../../lib/cli/cli-error';
import { buildModelKey, checkModelKeys, modelFolder } from '../../lib/cli/models/model-key';
import { parseConcurrency, parseDuration, parsePartSizeMiB } from '../../lib/cli/models/number-options';
import { decideUpload, partSizeBytes } from '../../lib/cli/models/upload-plan';
import { MODEL_FOLDERS, modelKeyProblem } from '../../lib/model-folders';

const MIB = 1024 * 1024;

function cliError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('modelFolder', () => {
  test('accepts every folder of the ComfyUI layout', () => {
    for (const folder of MODEL_FOLDERS) expect(modelFolder(folder)).toBe(folder);
  });

  test('rejects a wrong type with every valid folder listed and a validation exit code', () => {
    const error = cliError(() => modelFolder('models'));
    expect(error.exitCode).toBe(EXIT.validation);
    expect(error.message).toContain("--type 'models' is not a ComfyUI model folder");
    for (const folder of MODEL_FOLDERS) expect(error.message).toContain(folder);
  });

  test('suggests the folder a singular or capitalised type meant', () => {
    expect(cliError(() => modelFolder('checkpoint')).message).toContain('did you mean checkpoints?');
    expect(cliError(() => modelFolder('Lora')).message).toContain('did you mean loras?');
  });
});

describe('buildModelKey', () => {
  test('joins folder, subfolder and name', () => {
    expect(buildModelKey({ folder: 'loras', subfolder: 'sdxl/styles', name: 'ink.safetensors' })).toBe('loras/sdxl/styles/ink.safetensors');
  });

  test('drops slashes around the subfolder and leaves it out when empty', () => {
    expect(buildModelKey({ folder: 'vae', subfolder: '/sdxl/', name: 'v.pt' })).toBe('vae/sdxl/v.pt');
    expect(buildModelKey({ folder: 'vae', subfolder: '', name: 'v.pt' })).toBe('vae/v.pt');
  });

  test('refuses a name with a slash and says to use --subfolder', () => {
    expect(cliError(() => buildModelKey({ folder: 'vae', name: 'a/b.pt' })).message).toContain('--subfolder');
  });

  test('refuses a subfolder that would escape the models directory', () => {
    const error = cliError(() => buildModelKey({ folder: 'vae', subfolder: '../etc', name: 'v.pt' }));
    expect(error.message).toContain("the model key 'vae/../etc/v.pt'");
    expect(error.exitCode).toBe(EXIT.validation);
  });
});

describe('keys a node cannot store or quote', () => {
  // Beyond the shared fixture (test/fixtures/model-keys.json): the same cases as UNSAFE_KEYS in
  // lambda/model-sync/node/tests/test_planning.py, so the Lambda, comfyctl and the nodes refuse the same keys.
  test.each([
    'loras/a\nb.pt', 'loras/a\rb.pt', 'loras/tab\t.pt', 'loras/esc\u001b[31m.pt', 'loras/nul\u0000.pt',
    'loras/del\u007f.pt', 'loras/nel\u0085.pt', 'loras/line\u2028sep.pt', 'loras/para\u2029sep.pt',
    `loras/${'x'.repeat(256)}`, `loras/${'é'.repeat(128)}/a.pt`,
  ])('refuses %j', (key) => {
    expect(modelKeyProblem(key)).toMatch(/control character or line break|longer than 255 bytes/);
  });

  test('accepts names up to 255 bytes and every printable character', () => {
    expect(modelKeyProblem(`loras/${'x'.repeat(255)}`)).toBeUndefined();
    expect(modelKeyProblem(`loras/${'é'.repeat(125)}a.pt`)).toBeUndefined();
    expect(modelKeyProblem('loras/it\'s "q" $(x) `id` ; \\ *?[1] 😀.pt')).toBeUndefined();
  });

  test('an upload name with a line break is refused before anything is sent', () => {
    const error = cliError(() => buildModelKey({ folder: 'loras', name: 'a\nb.safetensors' }));
    expect(error.exitCode).toBe(EXIT.validation);
    expect(error.message).toContain('control character or line break');
  });
});

describe('checkModelKeys', () => {
  test('returns the keys once each, in the order given', () => {
    expect(checkModelKeys(['loras/b.pt', 'loras/a.pt', 'loras/b.pt'])).toEqual(['loras/b.pt', 'loras/a.pt']);
  });

  test('names every key outside the layout in one error', () => {
    const error = cliError(() => checkModelKeys(['loras/ok.pt', 'README.md', 'checkpoints/']));
    expect(error.message).toContain("'README.md'");
    expect(error.message).toContain("'checkpoints/'");
    expect(error.message).not.toContain("'loras/ok.pt'");
    expect(error.message).toContain('nothing was changed');
  });
});

describe('decideUpload', () => {
  test('uploads when nothing is at the key', () => {
    expect(decideUpload(10, undefined, false)).toEqual({ action: 'upload' });
  });

  test('skips an object of the same size', () => {
    expect(decideUpload(10, 10, false)).toMatchObject({ action: 'skip' });
  });

  test('refuses an object of a different size and names --force', () => {
    const decision = decideUpload(10, 12, false);
    expect(decision.action).toBe('refuse');
    expect(decision.action === 'refuse' && decision.reason).toContain('--force');
  });

  test('replaces any existing object with force, even one of the same size', () => {
    expect(decideUpload(10, 10, true)).toEqual({ action: 'replace', existingSize: 10 });
    expect(decideUpload(10, 12, true)).toEqual({ action: 'replace', existingSize: 12 });
  });

  test('keeps an existing object when the source size is unknown', () => {
    expect(decideUpload(undefined, 12, false)).toMatchObject({ action: 'skip' });
  });
});

describe('partSizeBytes', () => {
  test('uses the requested size for ordinary checkpoints', () => {
    expect(partSizeBytes(7 * 1024 * MIB, 32)).toBe(32 * MIB);
  });

  test('grows the part size so a huge object fits in 10,000 parts', () => {
    const size = 500 * 1024 * MIB;
    const part = partSizeBytes(size, 32);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
    expect(part % MIB).toBe(0);
  });

  test('never goes below the 5 MiB S3 minimum, also for downloads of unknown size', () => {
    expect(partSizeBytes(undefined, 5)).toBe(5 * MIB);
    expect(partSizeBytes(undefined)).toBe(32 * MIB);
  });
});

describe('option parsers', () => {
  test('accept whole numbers in range', () => {
    expect(parsePartSizeMiB('5')).toBe(5);
    expect(parseConcurrency('16')).toBe(16);
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
  });

  test.each([
    [parsePartSizeMiB, '4'],
    [parsePartSizeMiB, '8.5'],
    [parseConcurrency, '0'],
    [parseDuration, '7'],
    [parseDuration, '0h'],
  ])('reject a bad value with the value quoted', (parse, value) => {
    expect(() => parse(value)).toThrow(InvalidArgumentError);
    expect(() => parse(value)).toThrow(`'${value}'`);
  });
});
