import { describe, expect, test } from 'vitest';
import { CliError } from '../../lib/cli/cli-error';
import { listPrefix } from '../../lib/cli/models/list-command';
import { formatListing, groupByFolder, listingJson, OUTSIDE_LAYOUT, REFUSED_BY_NODES } from '../../lib/cli/models/model-listing';

const MIB = 1024 * 1024;
const at = new Date('2025-03-04T05:06:07Z');
const objects = [
  { key: 'loras/sdxl/ink.safetensors', size: 2 * MIB, lastModified: at },
  { key: 'checkpoints/b.safetensors', size: 3 * 1024 * MIB, lastModified: at },
  { key: 'checkpoints/a.safetensors', size: 1024 * MIB, lastModified: at },
  { key: 'notes.txt', size: 12, lastModified: at },
  { key: 'checkpoints/', size: 0, lastModified: at },
  { key: 'loras/x.pt', size: 1 * MIB },
];

describe('groupByFolder', () => {
  test('groups by model folder with sorted keys and per-folder totals, keys outside the layout last', () => {
    const groups = groupByFolder(objects);
    expect(groups.map((g) => g.folder)).toEqual(['checkpoints', 'loras', OUTSIDE_LAYOUT]);
    expect(groups[0].objects.map((o) => o.key)).toEqual(['checkpoints/a.safetensors', 'checkpoints/b.safetensors']);
    expect(groups[0].totalBytes).toBe(4 * 1024 * MIB);
    expect(groups[1].totalBytes).toBe(3 * MIB);
    expect(groups[2].objects.map((o) => o.key)).toEqual(['notes.txt']);
  });

  test('lists apart the model keys the nodes refuse to place, by their rules: a file named like a folder of others, an archived object', () => {
    const groups = groupByFolder([
      { key: 'loras/style', size: 1 },
      { key: 'loras/style/a.safetensors', size: 2 },
      { key: 'loras/cold.safetensors', size: 3, storageClass: 'DEEP_ARCHIVE' },
      { key: 'loras/warm.safetensors', size: 4, storageClass: 'GLACIER_IR' },
      { key: 'notes.txt', size: 5 },
    ]);
    expect(groups.map((g) => [g.folder, g.objects.map((o) => o.key)])).toEqual([
      ['loras', ['loras/style/a.safetensors', 'loras/warm.safetensors']],
      [REFUSED_BY_NODES, ['loras/cold.safetensors', 'loras/style']],
      [OUTSIDE_LAYOUT, ['notes.txt']],
    ]);
    expect(formatListing('s3://m/', groups)).toContain(`${REFUSED_BY_NODES}  2 files, 4 B\n`);
  });

  test('leaves out folder markers', () => {
    expect(groupByFolder([{ key: 'checkpoints/', size: 0 }])).toEqual([]);
  });
});

describe('formatListing', () => {
  test('prints each folder with its file count and total, human sizes, names relative to the folder, and a grand total', () => {
    const text = formatListing('s3://models/', groupByFolder(objects));
    expect(text).toBe([
      'checkpoints/  2 files, 4.0 GiB',
      '     1.0 GiB  2025-03-04 05:06Z  a.safetensors',
      '     3.0 GiB  2025-03-04 05:06Z  b.safetensors',
      'loras/  2 files, 3.0 MiB',
      '     2.0 MiB  2025-03-04 05:06Z  sdxl/ink.safetensors',
      '     1.0 MiB  -                  x.pt',
      `${OUTSIDE_LAYOUT}  1 file, 12 B`,
      '        12 B  2025-03-04 05:06Z  notes.txt',
      '5 files, 4.0 GiB in s3://models/',
      '',
    ].join('\n'));
  });
});

describe('listingJson', () => {
  test('keeps sizes in bytes and times in ISO 8601 for scripts', () => {
    const json = listingJson('models', '', groupByFolder(objects)) as any;
    expect(json.totalBytes).toBe(4 * 1024 * MIB + 3 * MIB + 12);
    expect(json.folders[1]).toMatchObject({ folder: 'loras', files: 2, totalBytes: 3 * MIB });
    expect(json.folders[1].objects[0]).toEqual({ key: 'loras/sdxl/ink.safetensors', size: 2 * MIB, lastModified: at.toISOString() });
  });
});

describe('listPrefix', () => {
  test('lists everything without a folder', () => {
    expect(listPrefix(undefined)).toBe('');
  });

  test('turns a folder or a path inside one into a prefix ending in a slash', () => {
    expect(listPrefix('checkpoints')).toBe('checkpoints/');
    expect(listPrefix('loras/sdxl/')).toBe('loras/sdxl/');
  });

  test('refuses a folder outside the layout', () => {
    expect(() => listPrefix('models')).toThrow(CliError);
    expect(() => listPrefix('models')).toThrow("folder 'models' is not a ComfyUI model folder");
  });
});
