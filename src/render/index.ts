// `render`: the dev-mode rewrite of `start --local` applied to a rendered manifest
// stream (Helm post-renderer, pipes) or to a KRM ResourceList (kustomize exec
// function), detected from the input. Pure: text and options in, text out; the
// same input and options always give the same bytes (no time, no keys).

import { DevError } from '../core/errors.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import { parseManifests, type ParsedObject } from '../core/manifests.ts';
import type { DevSettingsInput } from '../core/settings.ts';
import type { DevConfig } from '../config/devconfig.ts';
import { isResourceList, renderResourceList } from './krm.ts';
import { Selector } from './select.ts';
import { renderStreamDocuments } from './stream.ts';

export { HELM_FILENAME_ANNOTATION, isTransportAnnotation } from './transport.ts';
export { OPT_IN_ANNOTATION } from './select.ts';

export interface RenderOptions {
  /** `--select KIND/NAME`, each of which must match a workload. */
  selects?: readonly WorkloadRef[];
  /** The dev config (`--config`); in KRM mode a functionConfig replaces it. */
  config?: DevConfig;
  /** Settings from flags, over the config's. */
  settings?: DevSettingsInput;
  /** Name of the input for messages (`-` is stdin). */
  source?: string;
}

export interface RenderOutcome {
  mode: 'stream' | 'krm';
  /** The whole output, written in one write. Empty when the input was unusable. */
  stdout: string;
  /** Said on stderr; the output is still good. */
  warnings: string[];
  /** Set when rendering failed: exit non-zero. In KRM mode stdout then holds the ResourceList with the error in results. */
  error?: DevError;
}

/** Input the `yaml` library cannot walk (nesting thousands deep) ends as a located error, never a crash. */
function asDevError(error: unknown, source: string): DevError {
  if (error instanceof DevError) return error;
  if (error instanceof RangeError) {
    return new DevError('INVALID_INPUT', 'the input is nested too deeply to read', 'Kubernetes objects are a few levels deep; check that the input is a manifest stream.', { source });
  }
  throw error;
}

/** Deeper than any Kubernetes object (CRD schemas included); well below where the YAML reader runs out of stack. */
export const MAX_DEPTH = 200;

/** Fails on a document nested deeper than MAX_DEPTH (walked without recursion). */
function checkDepth(parsed: readonly ParsedObject[], source: string): void {
  for (const p of parsed) {
    const stack: [unknown, number][] = [[p.object, 1]];
    while (stack.length > 0) {
      const [value, depth] = stack.pop() as [unknown, number];
      if (depth > MAX_DEPTH) {
        throw new DevError('INVALID_INPUT', `the document is nested more than ${MAX_DEPTH} levels deep`,
          'Kubernetes objects are a few levels deep; check that the input is a manifest stream.', { source, document: p.index, line: p.line });
      }
      if (Array.isArray(value)) {
        for (const v of value) if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
      } else if (typeof value === 'object' && value !== null) {
        for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
      }
    }
  }
}

function detectMode(parsed: readonly ParsedObject[], source: string): 'stream' | 'krm' {
  const lists = parsed.filter((p) => isResourceList(p.object));
  if (lists.length === 0) return 'stream';
  const first = lists[0] as ParsedObject;
  if (parsed.length > 1) {
    throw new DevError('INVALID_INPUT', `a ResourceList must be the only document of the input, but there are ${parsed.length}`,
      'send either one KRM ResourceList (as kustomize and kpt do) or a plain stream of objects.', { source, document: first.index, line: first.line });
  }
  return 'krm';
}

/** Renders text; never throws for bad input or bad options (see `error`), only for bugs. */
export function render(text: string, options: RenderOptions = {}): RenderOutcome {
  const source = options.source ?? '-';
  const warnings: string[] = [];
  let mode: 'stream' | 'krm' = 'stream';
  try {
    const parsed = parseManifests(text, source);
    checkDepth(parsed, source);
    mode = detectMode(parsed, source);
    const selection = { selects: options.selects ?? [], settings: options.settings ?? {}, ...(options.config ? { config: options.config } : {}) };
    if (mode === 'krm') {
      const outcome = renderResourceList(text, parsed[0] as ParsedObject, selection, source, warnings);
      return { mode, stdout: outcome.stdout, warnings, ...(outcome.error ? { error: outcome.error } : {}) };
    }
    const selector = new Selector(selection);
    const stdout = renderStreamDocuments(text, parsed, selector, source);
    warnings.push(...selector.finalWarnings(parsed.length));
    return { mode, stdout, warnings };
  } catch (error) {
    return { mode, stdout: '', warnings, error: asDevError(error, source) };
  }
}
