// Plain stream mode (Helm post-renderers, pipes): a multi-document stream in, the
// same stream out with the selected workloads in dev mode. Documents are found and
// their kinds read without parsing them (src/core/yaml/scan.ts); only documents
// that may be workloads (or Lists of them) are parsed. Every other document, and
// every parsed one that does not change, is copied from the input byte for byte. A
// changed document keeps its `---` line and the comments above it, and is printed
// by the same printer as `start --local`.

import { printManifests } from '../core/manifests.ts';
import type { KubeObject } from '../core/objects.ts';
import type { Chunk } from '../core/yaml/scan.ts';
import { Output } from './output.ts';

/** The output: the input with the documents of `replaced` (by chunk) printed anew. */
export function assembleStream(text: string, chunks: readonly Chunk[], replaced: ReadonlyMap<Chunk, KubeObject[]>): Output {
  const output = new Output(text);
  for (const chunk of chunks) {
    const objects = replaced.get(chunk);
    if (objects === undefined) {
      output.copy(chunk.start, chunk.end);
      continue;
    }
    const lineStart = text.lastIndexOf('\n', chunk.content - 1) + 1;
    if (lineStart > chunk.start) output.copy(chunk.start, lineStart);
    else if (text.startsWith('---', chunk.start)) output.insert('---\n');
    output.insert(printManifests(objects, 'yaml'));
  }
  return output;
}
