import { readFileSync } from 'fs';
import * as path from 'path';
import { describe, expect, test } from 'vitest';
import { modelKeyProblem } from '../../lib/model-folders';

/** The same cases drive the node script's tests (lambda/model-sync/node/tests/test_planning.py). */
const cases = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'model-keys.json'), 'utf8'));

describe('modelKeyProblem', () => {
  test.each(cases.accepted as string[])('accepts %s', (key) => {
    expect(modelKeyProblem(key)).toBeUndefined();
  });

  test.each(cases.rejected as string[])('rejects %s with a reason', (key) => {
    expect(modelKeyProblem(key)).toMatch(/\w+/);
  });
});
