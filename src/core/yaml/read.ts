// A parsed YAML document (the `yaml` library's nodes, composed with the failsafe
// schema so that every scalar keeps its text) → the value kubectl reads: go-yaml v2's
// scalar resolution and merge keys, sigs.k8s.io/yaml's key conversion, duplicate
// keys last-wins, aliases expanded as copies and bounded as go-yaml bounds them.
// What kubectl would refuse, or what only a lax reader accepts (duplicate keys),
// is collected as problems: fatal only for documents that get rewritten. Pure.

import { CST, isAlias, isMap, isScalar, isSeq, visit, type Alias, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
import { DevError } from '../errors.ts';
import { BINARY_TAG, GoScalarError, jsonKeyOf, MERGE_TAG, resolveScalar, scalarValue, type GoScalar } from './go-scalars.ts';

/** Deeper than any Kubernetes object (CRD schemas included); well below where recursion runs out of stack. */
export const MAX_DEPTH = 200;

/** Something kubectl refuses in the document, or accepts only laxly; fatal where the document is rewritten. */
export interface ReadProblem {
  message: string;
  /** One-based line of the node concerned. */
  line: number;
  /** Dotted path of the node concerned ('' for the root). */
  path: string;
}

export interface ReadResult {
  value: unknown;
  problems: ReadProblem[];
}

// go-yaml v2's bound on alias expansion (decode.go allowedAliasRatio): a share of all
// decoded nodes, from 99 % for small documents down to 10 % for very large ones.
const ALIAS_RATIO_LOW = 400_000;
const ALIAS_RATIO_HIGH = 4_000_000;

function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= ALIAS_RATIO_LOW) return 0.99;
  if (decodeCount >= ALIAS_RATIO_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - ALIAS_RATIO_LOW) / (ALIAS_RATIO_HIGH - ALIAS_RATIO_LOW));
}

type Where = { source: string; document: number };

function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

const isMergeKey = (key: unknown): boolean =>
  isScalar(key) && key.value === '<<' && ((key.type === 'PLAIN' && (key.tag === undefined || key.tag === '!')) || key.tag === MERGE_TAG);

/** Go's base64.StdEncoding.DecodeString (which skips CR and LF), or undefined when invalid. */
function decodeBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  return Uint8Array.from(atob(clean), (c) => c.charCodeAt(0));
}

class Reader {
  private decodeCount = 1; // the document node
  private aliasCount = 0;
  private aliasDepth = 0;
  private readonly targets = new Map<Alias, Node | undefined>();
  private readonly expanding = new Set<Alias>();
  /** The alias whose expansion is under way, outermost: where excessive aliasing is reported. */
  private outerAlias: Alias | undefined;
  private readonly path: (string | number)[] = [];
  readonly problems: ReadProblem[] = [];

  private readonly lineOf: (offset: number) => number;
  private readonly where: Where;
  constructor(document: Document.Parsed, lineOf: (offset: number) => number, where: Where, aliases: boolean) {
    this.lineOf = lineOf;
    this.where = where;
    if (aliases) {
      // Each alias names the anchor defined last before it in document order, as go-yaml's parser fixes it.
      const anchors = new Map<string, Node>();
      visit(document, {
        Node: (_key, node) => {
          if (isAlias(node)) this.targets.set(node, anchors.get(node.source));
          else if (node.anchor) anchors.set(node.anchor, node);
        },
      });
    }
  }

  private lineAt(node: Node | null | undefined): number {
    return node?.range ? this.lineOf(node.range[0]) : 1;
  }

  private pathText(): string {
    return this.path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z0-9_-]+$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('').replace(/^\./, '');
  }

  problem(message: string, node: Node | null | undefined): void {
    if (this.problems.length < 100) this.problems.push({ message, line: this.lineAt(node), path: this.pathText() });
  }

  private fatal(message: string, hint: string, node: Node | null | undefined): never {
    throw new DevError('INVALID_YAML', message, hint, { ...this.where, line: this.lineAt(node), ...(this.path.length > 0 ? { path: this.pathText() } : {}) });
  }

  private count(node: Node | null | undefined): void {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (this.aliasCount > 100 && this.decodeCount > 1000 && this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)) {
      this.fatal('invalid YAML: the document contains excessive aliasing (its aliases expand it far beyond its size)',
        'remove the alias loop or the excessive aliases from the document (kubectl refuses it too).', this.outerAlias ?? node);
    }
  }

  private target(alias: Alias): Node | undefined {
    return this.targets.get(alias);
  }

  private expand<T>(alias: Alias, depth: number, read: (target: Node) => T, fallback: T): T {
    const target = this.target(alias);
    if (target === undefined) {
      this.problem(`unknown anchor '${alias.source}' referenced`, alias);
      return fallback;
    }
    if (this.expanding.has(alias)) this.fatal(`invalid YAML: anchor '${alias.source}' value contains itself`, 'an alias cannot stand inside the value of its own anchor.', alias);
    this.expanding.add(alias);
    this.aliasDepth++;
    const outer = this.outerAlias;
    this.outerAlias ??= alias;
    try {
      if (depth > MAX_DEPTH) this.deep(alias);
      return read(target);
    } finally {
      this.aliasDepth--;
      this.expanding.delete(alias);
      this.outerAlias = outer;
    }
  }

  private deep(node: Node): never {
    throw new DevError('INVALID_INPUT', `the document is nested more than ${MAX_DEPTH} levels deep`,
      'Kubernetes objects are a few levels deep; check that the input is a manifest stream.', { ...this.where, line: this.lineAt(node) });
  }

  private scalar(node: Scalar): GoScalar | undefined {
    const tag = node.tag ?? '';
    let text: string;
    if (tag === BINARY_TAG) {
      const source = node.srcToken && CST.isScalar(node.srcToken) ? CST.resolveAsScalar(node.srcToken)?.value : undefined;
      const bytes = typeof source === 'string' ? decodeBase64(source) : undefined;
      if (bytes === undefined) {
        this.problem('!!binary value contains invalid base64 data', node);
        return undefined;
      }
      return { type: 'string', value: new TextDecoder().decode(bytes) };
    }
    text = typeof node.value === 'string' ? node.value : node.value === null || node.value === undefined ? '' : String(node.value);
    try {
      return resolveScalar(text, tag, node.type === 'PLAIN');
    } catch (error) {
      if (!(error instanceof GoScalarError)) throw error;
      this.problem(error.message, node);
      return undefined;
    }
  }

  value(node: Node | null | undefined, depth: number): unknown {
    this.count(node);
    if (node === null || node === undefined) return null;
    if (depth > MAX_DEPTH) this.deep(node);
    if (isAlias(node)) return this.expand(node, depth, (target) => this.value(target, depth + 1), null);
    if (isScalar(node)) {
      const scalar = this.scalar(node);
      if (scalar === undefined) return null;
      if (scalar.type === 'float' && !Number.isFinite(scalar.value)) this.problem(`${String(node.value)} is not a number JSON can hold (kubectl refuses it)`, node);
      return scalarValue(scalar);
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        this.path.push(i);
        out.push(this.value(item as Node | null, depth + 1));
        this.path.pop();
      });
      return out;
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      this.fill(node, out, depth);
      return out;
    }
    return null;
  }

  /** A mapping key as sigs.k8s.io/yaml makes it a JSON key; undefined (and a problem) where kubectl fails. */
  private key(node: Node | null | undefined, depth: number): string | undefined {
    this.count(node);
    if (node === null || node === undefined) {
      this.problem('a mapping key is empty (null); kubectl cannot convert it to JSON', node);
      return undefined;
    }
    if (isAlias(node)) return this.expand(node, depth, (target) => this.keyOf(target, depth), undefined);
    return this.keyOf(node, depth);
  }

  private keyOf(node: Node, depth: number): string | undefined {
    if (!isScalar(node)) {
      this.value(node, depth + 1);
      this.problem('a mapping key is a list or a mapping; kubectl cannot convert it to JSON', node);
      return undefined;
    }
    const scalar = this.scalar(node);
    if (scalar === undefined) return undefined;
    const key = jsonKeyOf(scalar);
    if (key === undefined) this.problem(`the mapping key ${JSON.stringify(String(node.value))} is ${scalar.type === 'null' ? 'null' : 'an unsigned 64-bit integer'}; kubectl cannot convert it to JSON`, node);
    return key;
  }

  /** The pairs of a mapping into `out`, in order: later keys win, merges (`<<`) set keys where they stand, as go-yaml does. */
  private fill(node: YAMLMap, out: Record<string, unknown>, depth: number): void {
    const explicit = new Set<string>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      if (isMergeKey(keyNode)) {
        this.merge(valueNode, out, depth);
        continue;
      }
      const key = this.key(keyNode, depth);
      this.path.push(key ?? '?');
      const value = this.value(valueNode, depth + 1);
      if (key !== undefined) {
        if (explicit.has(key)) this.problem(`duplicate key ${JSON.stringify(key)} (kubectl and Helm keep the last one)`, keyNode);
        explicit.add(key);
        setKey(out, key, value);
      }
      this.path.pop();
    }
  }

  private merge(node: Node | null, out: Record<string, unknown>, depth: number): void {
    const wantMap = () => this.problem('a merge key (<<) needs a mapping, an alias of one, or a list of them', node);
    const one = (item: Node | null) => {
      if (isMap(item)) {
        this.count(item);
        this.fill(item, out, depth + 1);
      } else if (isAlias(item)) {
        this.count(item);
        const target = this.target(item);
        if (target !== undefined && !isMap(target)) return wantMap();
        this.expand(item, depth, (t) => {
          this.count(t);
          this.fill(t as YAMLMap, out, depth + 1);
        }, undefined);
      } else {
        wantMap();
      }
    };
    if (isSeq(node)) {
      // Earlier entries take precedence: go-yaml applies them last.
      for (let i = node.items.length - 1; i >= 0; i--) one(node.items[i] as Node | null);
    } else {
      one(node);
    }
  }
}

/** The value kubectl reads from a document, and what it would refuse (or accept only laxly) in it. */
export function readDocument(document: Document.Parsed, lineOf: (offset: number) => number, where: Where, aliases: boolean): ReadResult {
  const reader = new Reader(document, lineOf, where, aliases);
  const value = reader.value(document.contents as Node | null, 1);
  return { value, problems: reader.problems };
}
