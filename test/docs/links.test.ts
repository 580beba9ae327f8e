import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';

/**
 * Every relative link in README.md and docs/*.md must reach a file that exists and, when it names one, a heading
 * of that file. Anchors follow GitHub's heading ids: the heading's text lowercased, punctuation other than '-' and
 * '_' removed, spaces turned into '-', and a repeated id suffixed -1, -2, ... in the order the headings appear
 * (https://github.com/github/cmark-gfm/issues/162, the rule github-slugger implements).
 */
const REPO = path.resolve(__dirname, '../..');

/** GitHub's id for one heading's text (without the suffix a repeated id gets). */
export function headingSlug(text: string): string {
  const rendered = text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image in a heading shows its text
    .replace(/<[^>]+>/g, ''); // inline HTML shows nothing
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The lines of a Markdown file outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { line: string; number: number }[] {
  const lines: { line: string; number: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((line, index) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) fence = marker;
    else if (fence !== undefined && marker && marker[0] === fence[0] && marker.length >= fence.length
      && line.trim() === marker) fence = undefined;
    else if (fence === undefined) lines.push({ line, number: index + 1 });
  });
  return lines;
}

/** Every anchor a Markdown file's headings define, repeated ids suffixed as GitHub does. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { line } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line);
    if (!heading) continue;
    const slug = headingSlug(heading[1]);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The inline links of a Markdown file outside code (fenced blocks and `code spans`), with their line numbers. */
export function markdownLinks(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  for (const { line, number } of proseLines(markdown)) {
    const prose = line.replace(/(`+)[^`]*?\1/g, '');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ target: match[1], line: number });
    }
  }
  return links;
}

/** What is wrong with one link from `fromFile`, or undefined when it resolves. */
export function brokenLink(fromFile: string, target: string, readFile = (file: string) => readFileSync(file, 'utf8')):
  string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: and other absolute URLs
  const hash = target.indexOf('#');
  const filePart = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = filePart === '' ? fromFile : path.resolve(path.dirname(fromFile), decodeURIComponent(filePart));
  if (!existsSync(file)) return `${target}: no file ${path.relative(REPO, file)}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown`;
  if (!headingAnchors(readFile(file)).has(anchor)) return `${target}: no heading #${anchor} in ${path.relative(REPO, file)}`;
  return undefined;
}

function documentationFiles(): string[] {
  const docs = readdirSync(path.join(REPO, 'docs')).filter((name) => name.endsWith('.md')).sort();
  return [path.join(REPO, 'README.md'), ...docs.map((name) => path.join(REPO, 'docs', name))];
}

describe('GitHub heading anchors', () => {
  test('lowercase the text, drop punctuation but - and _, and turn spaces into dashes', () => {
    expect(headingSlug('Use it: `comfyctl`')).toBe('use-it-comfyctl');
    expect(headingSlug('Multi-GPU image (`comfyui_image/`)')).toBe('multi-gpu-image-comfyui_image');
    expect(headingSlug('Two executors: thread (default) and process')).toBe('two-executors-thread-default-and-process');
    expect(headingSlug('2.4 Thread mode on v0.33 (checked here, partly)')).toBe('24-thread-mode-on-v033-checked-here-partly');
  });

  test('a repeated heading gets -1, -2 in order, and headings inside code blocks define nothing', () => {
    const anchors = headingAnchors('# Limits\n\n## Limits\n\n```bash\n# Limits\n```\n\n### Limits\n');
    expect([...anchors]).toEqual(['limits', 'limits-1', 'limits-2']);
  });

  test('links inside fenced code blocks and code spans are not links', () => {
    const markdown = 'See [a](a.md) and `[b](b.md)`.\n\n```\n[c](c.md)\n```\n[d](d.md#x "title")\n';
    expect(markdownLinks(markdown)).toEqual([{ target: 'a.md', line: 1 }, { target: 'd.md#x', line: 6 }]);
  });

  test('a missing file and a missing heading are reported, an existing heading and a web address are not', () => {
    const readme = path.join(REPO, 'README.md');
    expect(brokenLink(readme, 'docs/no-such-page.md')).toMatch(/no file docs\/no-such-page\.md/);
    expect(brokenLink(readme, '#no-such-heading')).toMatch(/no heading #no-such-heading in README\.md/);
    expect(brokenLink(readme, '#costs')).toBeUndefined();
    expect(brokenLink(readme, 'https://example.com/missing#nowhere')).toBeUndefined();
  });
});

describe('documentation links', () => {
  test('every relative link in README.md and docs/*.md reaches an existing file and heading', () => {
    const broken: string[] = [];
    for (const file of documentationFiles()) {
      for (const { target, line } of markdownLinks(readFileSync(file, 'utf8'))) {
        const problem = brokenLink(file, target);
        if (problem) broken.push(`${path.relative(REPO, file)}:${line}: ${problem}`);
      }
    }
    expect(broken, `broken links (fix the link or the heading it names):\n${broken.join('\n')}`).toEqual([]);
  });
});
