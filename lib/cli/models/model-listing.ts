import { folderClashes, modelKeyProblem, storageClassProblem } from '../../model-folders';
import { formatBytes } from '../progress';

export interface ModelObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified?: Date;
  /** S3's storage class; none means STANDARD. */
  readonly storageClass?: string;
}

export interface FolderListing {
  /** A model folder, or OUTSIDE_LAYOUT for keys the nodes ignore. */
  readonly folder: string;
  readonly objects: ModelObject[];
  readonly totalBytes: number;
}

/** Group name for objects the sync ignores: shown so nobody wonders why a node lacks them. */
export const OUTSIDE_LAYOUT = '(outside the model layout, not synced)';

/** Group name for model keys the nodes refuse to place: the same rules as theirs (lib/model-folders.ts). */
export const REFUSED_BY_NODES = '(refused by the nodes: a file named like a folder of others, or archived; not synced)';

/** The groups listed with whole keys, after the model folders. */
const SPECIAL_GROUPS: readonly string[] = [REFUSED_BY_NODES, OUTSIDE_LAYOUT];

/**
 * Objects grouped by their model folder, folders and keys sorted, with the folder's total size. Folder
 * markers (`checkpoints/`, made by the S3 console's "Create folder") are not files and are left out.
 */
export function groupByFolder(objects: readonly ModelObject[]): FolderListing[] {
  const files = objects.filter((o) => !o.key.endsWith('/'));
  const clashes = folderClashes(files.map((o) => o.key).filter((key) => modelKeyProblem(key) === undefined));
  const groups = new Map<string, ModelObject[]>();
  for (const object of files) {
    let folder = modelKeyProblem(object.key) === undefined ? object.key.split('/')[0] : OUTSIDE_LAYOUT;
    if (clashes.has(object.key) || storageClassProblem(object.storageClass)) folder = REFUSED_BY_NODES;
    groups.set(folder, [...(groups.get(folder) ?? []), object]);
  }
  const order = (folder: string) => (SPECIAL_GROUPS.includes(folder) ? `\uffff${SPECIAL_GROUPS.indexOf(folder)}` : folder);
  return [...groups.entries()]
    .sort(([a], [b]) => order(a).localeCompare(order(b)))
    .map(([folder, list]) => ({
      folder,
      objects: [...list].sort((a, b) => a.key.localeCompare(b.key)),
      totalBytes: list.reduce((sum, o) => sum + o.size, 0),
    }));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function shortTime(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 16).replace('T', ' ')}Z` : '-'.padEnd(17);
}

/** The listing as text: one block per folder with sizes, then the grand total. */
export function formatListing(location: string, folders: readonly FolderListing[]): string {
  const lines: string[] = [];
  for (const { folder, objects, totalBytes } of folders) {
    const special = SPECIAL_GROUPS.includes(folder);
    const header = special ? folder : `${folder}/`;
    lines.push(`${header}  ${plural(objects.length, 'file')}, ${formatBytes(totalBytes)}`);
    for (const o of objects) {
      const name = special ? o.key : o.key.slice(folder.length + 1);
      lines.push(`  ${formatBytes(o.size).padStart(10)}  ${shortTime(o.lastModified)}  ${name}`);
    }
  }
  const count = folders.reduce((n, f) => n + f.objects.length, 0);
  const bytes = folders.reduce((n, f) => n + f.totalBytes, 0);
  lines.push(`${plural(count, 'file')}, ${formatBytes(bytes)} in ${location}`);
  return `${lines.join('\n')}\n`;
}

/** The listing for scripts: sizes in bytes, times in ISO 8601. */
export function listingJson(bucket: string, prefix: string, folders: readonly FolderListing[]): unknown {
  return {
    bucket,
    prefix,
    totalBytes: folders.reduce((n, f) => n + f.totalBytes, 0),
    folders: folders.map((f) => ({
      folder: f.folder,
      files: f.objects.length,
      totalBytes: f.totalBytes,
      objects: f.objects.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified?.toISOString() })),
    })),
  };
}
