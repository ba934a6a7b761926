// Objects → YAML that a Go reader (kubectl, Helm, kustomize) reads back as the same
// values: kubectl's layout (sequences not indented, no folding), and every string
// quoted whose plain form go-yaml would read as something else (`"0o17"`, `"on"`,
// `"1e3"`, `"<<"` as a key). Pure.

import { Document, isScalar, visit, type Scalar } from 'yaml';
import { MERGE_TAG, plainIsNotString } from './go-scalars.ts';

/** Printed the way kubectl prints: sequences not indented under their key, no line folding. */
const PRINT_OPTIONS = { lineWidth: 0, indentSeq: false, flowCollectionPadding: false } as const;

function needsQuotes(text: string, isKey: boolean): boolean {
  return plainIsNotString(text) || (isKey && text === '<<');
}

/** One object as a YAML document (no `---`), ending in a newline. */
export function printYaml(value: unknown): string {
  // No merge tag: a key "<<" is a string here (printed quoted), never a merge.
  const document = new Document(value, { version: '1.1', customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== MERGE_TAG), aliasDuplicateObjects: false });
  visit(document, {
    Pair: (_key, pair) => {
      const key = pair.key;
      if (isScalar(key) && typeof key.value === 'string' && needsQuotes(key.value, true)) (key as Scalar).type = 'QUOTE_DOUBLE';
    },
    Scalar: (key, node) => {
      if (key !== 'key' && typeof node.value === 'string' && node.type !== 'QUOTE_DOUBLE' && needsQuotes(node.value, false)) node.type = 'QUOTE_DOUBLE';
    },
  });
  const text = document.toString(PRINT_OPTIONS);
  return text.endsWith('\n') ? text : `${text}\n`;
}
