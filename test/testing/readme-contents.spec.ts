import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** GitHub's heading anchors (github-slugger) for ASCII headings: lower case, punctuation dropped, spaces to -. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
// Headings inside code blocks are not headings.
const prose = readme.replace(/```[\s\S]*?```/g, '');

describe('README table of contents', () => {
  const contents = /\*\*Contents\*\*\n\n((?:- \[.*\]\(#.*\)\n)+)/.exec(prose);
  const links = [...(contents?.[1] ?? '').matchAll(/^- \[(.*)\]\(#(.*)\)$/gm)].map((m) => ({
    text: m[1],
    anchor: m[2],
  }));
  const sections = [...prose.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);

  it('sits right under the introduction, before the first section', () => {
    expect(contents).not.toBeNull();
    expect(prose.indexOf('**Contents**')).toBeLessThan(prose.indexOf('\n## '));
  });

  it('links every ## section, in order, by its GitHub anchor', () => {
    expect(links).toEqual(sections.map((text) => ({ text, anchor: anchorOf(text) })));
    expect(links.map((link) => link.text)).toEqual(
      expect.arrayContaining([
        'Caching with cache-manager (`nestjs-redis-pool/cache`)',
        'Rate limiting with @nestjs/throttler (`nestjs-redis-pool/throttler`)',
      ]),
    );
  });
});
