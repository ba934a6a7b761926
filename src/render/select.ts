// Which workloads of a rendered stream go into dev mode, and with which settings:
// `--select KIND/NAME`, the opt-in annotation a chart can switch on through values,
// and the workloads of the dev config. Then each selected workload goes through
// `core.enter` — the same rewrite as `start` — one at a time.

import { enter, isGenerated, isInDevMode, type Target } from '../core/enter.ts';
import { DevError, type ErrorLocation } from '../core/errors.ts';
import { isTemplateHolderKind, workloadKindOf, type WorkloadRef } from '../core/kinds.ts';
import { HELM_HOOK_ANNOTATION, OPT_IN_ANNOTATION } from '../core/marks.ts';
import { assertRewritable, checkMetadata, type ReadProblem } from '../core/manifests.ts';
import { isPlainObject, objectRef, type KubeObject } from '../core/objects.ts';
import type { DevSettingsInput } from '../core/settings.ts';
import type { DevConfig } from '../config/devconfig.ts';
import { entryFor, settingsFor } from '../config/resolve.ts';
import { refusePersistOffline } from '../core/persist.ts';
import { restoreTransport, stripTransport, transportForGenerated } from './transport.ts';

export { OPT_IN_ANNOTATION };

export interface Selection {
  /** `--select KIND/NAME` (each must match a workload of the input). */
  selects: readonly WorkloadRef[];
  /** The dev config: its workloads are selected (when present in the input), its settings apply. */
  config?: DevConfig;
  /** Settings from flags; they win over the config. */
  settings: DevSettingsInput;
  /** `--force`: node-critical workloads may be selected too. */
  force?: boolean;
}

/** Where an object sits in the input, for error messages. */
export interface Place {
  document: number;
  line: number;
  source: string;
  /** `items[3]` inside a List or a ResourceList. */
  path?: string;
}

function matchesRef(ref: WorkloadRef, kind: string, name: unknown, namespace: unknown): boolean {
  return ref.kind.kind === kind && ref.name === name
    && (ref.namespace === undefined || namespace === undefined || ref.namespace === namespace);
}

const refText = (ref: WorkloadRef) => `${ref.kind.kind.toLowerCase()}/${ref.name}${ref.namespace ? ` (namespace ${ref.namespace})` : ''}`;

/** Runs selection over the objects of one input and remembers what each `--select` matched. */
export class Selector {
  private readonly hit = new Set<number>();
  private readonly hooks = new Map<number, string>();
  /** Workloads seen, for the hint when a `--select` matches nothing. */
  private readonly seen: string[] = [];
  /** Workloads the opt-in annotation names with a value other than "true"/"false". */
  readonly warnings: string[] = [];
  selected = 0;
  /** Workloads matched by a selection but already in dev mode (passed through). */
  alreadyInDevMode = 0;
  /** The input's objects that hold or name pod templates of others (read once, when a selected workload needs them). */
  templateContext: () => readonly KubeObject[] = () => [];

  private readonly selection: Selection;
  constructor(selection: Selection) {
    this.selection = selection;
  }

  /** The target for one object, or undefined when it passes through. */
  targetFor(obj: KubeObject, place: Place): Target | undefined {
    const kind = workloadKindOf(obj);
    if (!kind) return undefined;
    const name = obj.metadata?.name;
    const namespace = obj.metadata?.namespace;
    if (this.seen.length < 50) this.seen.push(`${kind.kind.toLowerCase()}/${String(name)}`);
    const hits = this.selection.selects.flatMap((ref, i) => (matchesRef(ref, kind.kind, name, namespace) ? [i] : []));
    const hook = obj.metadata?.annotations?.[HELM_HOOK_ANNOTATION];
    if (typeof hook === 'string') {
      // Helm hooks stay as they are (Helm 4 passes them through the post-renderer).
      for (const i of hits) this.hooks.set(i, hook);
      return undefined;
    }
    if (isInDevMode(obj) || isGenerated(obj)) {
      for (const i of hits) this.hit.add(i);
      if (isInDevMode(obj) && (hits.length > 0 || obj.metadata?.annotations?.[OPT_IN_ANNOTATION] === 'true')) this.alreadyInDevMode++;
      return undefined;
    }
    const optIn = obj.metadata?.annotations?.[OPT_IN_ANNOTATION];
    if (optIn !== undefined && optIn !== 'true' && optIn !== 'false') {
      this.warnings.push(`${objectRef(obj)} (${describePlace(place)}): ${OPT_IN_ANNOTATION} is "${optIn}"; only "true" selects the workload`);
    }
    const entry = this.selection.config && typeof name === 'string' ? entryFor(this.selection.config, kind.kind, name, namespace) : undefined;
    if (hits.length === 0 && optIn !== 'true' && entry === undefined) return undefined;
    for (const i of hits) this.hit.add(i);
    this.selected++;
    const settings = settingsFor(this.selection.config, kind.kind, String(name), namespace, this.selection.settings);
    refusePersistOffline(settings.persist, `render (${kind.kind.toLowerCase()}/${String(name)})`);
    const target: Target = { kind, name: String(name), settings };
    if (namespace !== undefined) target.namespace = namespace;
    if (this.selection.force) target.force = true;
    return target;
  }

  /** Warnings once the whole input has been seen: the nothing-selected one, and opt-in values that select nothing. */
  finalWarnings(objectCount: number): string[] {
    const warnings = [...this.warnings];
    if (this.selected === 0) {
      warnings.push(this.alreadyInDevMode > 0
        ? `nothing to change: the selected workload${this.alreadyInDevMode === 1 ? ' is' : 's are'} already in dev mode; the input passes through unchanged`
        : `nothing selected: no --select, no workload with the annotation ${OPT_IN_ANNOTATION}: "true" and no workload of the dev config among the ${objectCount} object${objectCount === 1 ? '' : 's'}; the input passes through unchanged`);
    }
    return warnings;
  }

  /** Fails when a `--select` matched no workload of the input. */
  checkAllMatched(source: string): void {
    const missing = this.selection.selects.flatMap((ref, i) => (this.hit.has(i) ? [] : [{ ref, i }]));
    if (missing.length === 0) return;
    const hookOnly = missing.find(({ i }) => this.hooks.has(i));
    if (hookOnly) {
      throw new DevError('INVALID_INPUT', `${refText(hookOnly.ref)} is a Helm hook (helm.sh/hook: ${this.hooks.get(hookOnly.i)}); dev mode leaves hooks as they are`,
        'select the workload the chart runs, not a hook; hooks run once around install and upgrade.', { source });
    }
    const list = missing.map(({ ref }) => refText(ref)).join(', ');
    const have = this.seen.length > 0 ? `the input has: ${this.seen.slice(0, 10).join(', ')}${this.seen.length > 10 ? ', …' : ''}` : 'the input holds no workload at all';
    throw new DevError('SELECTION_EMPTY', `--select ${list}: no workload in the input matches`,
      `check the kind and name as kubectl writes them (${have}).`, { source });
  }
}

export function describePlace(place: Place): string {
  return `document ${place.document + 1}, line ${place.line}${place.path ? `, ${place.path}` : ''}`;
}

function located(error: DevError, place: Place): DevError {
  const where: ErrorLocation = { ...error.where, document: place.document, line: place.line, source: place.source };
  if (place.path !== undefined) where.path = error.where.path !== undefined ? `${place.path}.${error.where.path}` : place.path;
  return new DevError(error.code, error.message, error.hint, where);
}

/** A last change to a selected workload before the rewrite (KRM mode: kustomize's pending renames). */
export type Prepare = (obj: KubeObject) => KubeObject;

/**
 * One selected workload through the rewrite: checked (kubectl must be able to read
 * every value of it, and no key may be duplicated), transport annotations off (so the
 * saved original stays clean), `core.enter`, transport annotations back on. Returns
 * the workload and what dev mode generated for it.
 */
export function rewriteOne(obj: KubeObject, target: Target, place: Place, prepare: Prepare = (o) => o, problems: readonly ReadProblem[] = [], context: () => readonly KubeObject[] = () => []): KubeObject[] {
  const where = { source: place.source, document: place.document, line: place.line, object: objectRef(obj), ...(place.path !== undefined ? { path: place.path } : {}) };
  checkMetadata(obj, where);
  assertRewritable(problems, where);
  const { object, saved } = stripTransport(obj);
  let out: KubeObject[];
  try {
    const others = target.kind.templateRef || isTemplateHolderKind(target.kind.kind) ? context().filter((o) => o !== obj) : [];
    out = enter([prepare(object)], { targets: [target], ...(others.length > 0 ? { context: others } : {}) });
  } catch (error) {
    throw error instanceof DevError ? located(error, place) : error;
  }
  const [workload, ...generated] = out;
  if (!workload) throw new Error('unreachable: enter returned nothing for a selected workload');
  return [restoreTransport(workload, obj, saved), ...generated.map((g) => transportForGenerated(g, saved))];
}

/** The problems of the document under `path` (`items[3]`), with paths relative to it. */
export function problemsUnder(problems: readonly ReadProblem[], path: string): ReadProblem[] {
  return problems.flatMap((p) => (p.path === path ? [{ ...p, path: '' }] : p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`) ? [{ ...p, path: p.path.slice(path.length).replace(/^\./, '') }] : []));
}

/**
 * A top-level object through selection and the rewrite: itself or, for a `List`,
 * its items. Returns undefined when nothing in it changes (the caller keeps the input
 * text). `problems` are those of its document: fatal once it is rewritten.
 */
export function renderObject(obj: KubeObject, selector: Selector, place: Place, prepare?: Prepare, problems: readonly ReadProblem[] = []): KubeObject[] | undefined {
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    let changed = false;
    const items = (obj.items as unknown[]).flatMap((item, j) => {
      if (!isPlainObject(item) || typeof item.kind !== 'string') return [item];
      const at: Place = { ...place, path: `items[${j}]` };
      const target = selector.targetFor(item as KubeObject, at);
      if (!target) return [item];
      changed = true;
      // The whole List is printed again: every problem of it counts.
      return rewriteOne(item as KubeObject, target, at, prepare, problems, selector.templateContext);
    });
    return changed ? [{ ...obj, items }] : undefined;
  }
  const target = selector.targetFor(obj, place);
  return target ? rewriteOne(obj, target, place, prepare, problems, selector.templateContext) : undefined;
}
