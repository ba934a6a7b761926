// Plain stream mode (Helm 3 post-renderer, pipes): a multi-document stream in, the
// same stream out with the selected workloads in dev mode. Documents that do not
// change are copied from the input text byte for byte (comments, key order, quoting,
// Helm's `# Source:` lines); a changed document keeps its leading comments and is
// printed by the same printer as `start --local`.

import { printManifests, type ParsedObject } from '../core/manifests.ts';
import type { KubeObject } from '../core/objects.ts';
import { renderObject, type Selector } from './select.ts';

const COMMENT_LINE = /^[ \t]*#/;
const MARKER_LINE = /^---(?:[ \t].*)?$/;

function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** Comment lines (and whether a `---` marker was there) between a document's start and its content. */
function headerOf(header: string): { marker: boolean; comments: string } {
  let marker = false;
  let comments = '';
  for (const line of header.split(/\r?\n/)) {
    if (MARKER_LINE.test(line)) marker = true;
    else if (COMMENT_LINE.test(line)) comments += `${line.trimStart()}\n`;
  }
  return { marker, comments };
}

/**
 * The output text: the input with the changed documents replaced. The input is cut
 * at each document's start, so the pieces are the whole input; unchanged pieces are
 * copied as they are.
 */
export function assembleStream(text: string, parsed: readonly ParsedObject[], replaced: ReadonlyMap<number, KubeObject[]>): string {
  if (replaced.size === 0) return withFinalNewline(text);
  const starts = parsed.map((p, i) => (i === 0 ? 0 : p.document.range[0]));
  let out = '';
  parsed.forEach((p, i) => {
    const start = starts[i] as number;
    const end = i + 1 < starts.length ? (starts[i + 1] as number) : text.length;
    const objects = replaced.get(i);
    if (objects === undefined) {
      out += withFinalNewline(text.slice(start, end));
      return;
    }
    const contentStart = Math.max(start, Math.min(end, p.document.contents?.range?.[0] ?? start));
    const { marker, comments } = headerOf(text.slice(start, contentStart));
    out += `${marker || i > 0 ? '---\n' : ''}${comments}${printManifests(objects, 'yaml')}`;
  });
  return out;
}

/** Selection and the rewrite over a parsed stream; returns the output text and how many workloads changed. */
export function renderStreamDocuments(text: string, parsed: readonly ParsedObject[], selector: Selector, source: string): string {
  const replaced = new Map<number, KubeObject[]>();
  parsed.forEach((p, i) => {
    const out = renderObject(p.object, selector, { document: p.index, line: p.line, source });
    if (out !== undefined) replaced.set(i, out);
  });
  selector.checkAllMatched(source);
  return assembleStream(text, parsed, replaced);
}
