import { readFileSync } from 'fs';
import * as path from 'path';
import { describe, expect, test } from 'vitest';
import { folderClashes, modelKeyProblem, storageClassProblem } from '../../lib/model-folders';

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

describe('folderClashes', () => {
  test.each(cases.folderClashes as { keys: string[]; refused: string[] }[])('of $keys refuses $refused', ({ keys, refused }) => {
    const clashes = folderClashes(keys);
    expect([...clashes.keys()].sort()).toEqual(refused);
    for (const why of clashes.values()) expect(why).toMatch(/is also the folder of '.+'/);
  });
});

describe('storageClassProblem', () => {
  test.each(cases.storageClasses.accepted as string[])('accepts %j', (storageClass) => {
    expect(storageClassProblem(storageClass)).toBeUndefined();
  });

  test.each(cases.storageClasses.refused as string[])('refuses %s and says how to bring it back', (storageClass) => {
    expect(storageClassProblem(storageClass)).toContain('--storage-class STANDARD');
  });
});
