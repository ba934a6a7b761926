// The value checkers of the dev config (devconfig.ts): one value and its key path in, the checked
// value out, each problem told to `fail` with its path; kept apart so devconfig.ts reads as the file's shape.

import { INITIAL_STRATEGIES, type InitialStrategy } from '../sync/initial.ts';
import { DevError } from '../core/errors.ts';
import { isPlainObject } from '../core/objects.ts';
import type { EnvVar } from '../core/settings.ts';
import type { SyncConfig } from './devconfig.ts';
import { parseForwardSpec, parseReverseSpec } from './forward-spec.ts';
import { staysInside } from './paths.ts';
import { FIELDS } from './resolve.ts';

/** Where a checker reports a problem (devconfig.ts's Checker: with the path's line when known). */
export interface Failures {
  fail(path: readonly (string | number)[], message: string): void;
}

/** The keys of one part of the field table (settings, sync, forward, run). */
export const fieldsOf = (part: string): string[] => Object.entries(FIELDS).filter(([, f]) => f.part === part).map(([name]) => name);

export function describeType(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  return `a ${typeof value}`;
}

export function checkKeys(value: Record<string, unknown>, allowed: readonly string[], path: readonly (string | number)[], c: Failures): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      c.fail([...path, key], `unknown key "${key}" (allowed here: ${allowed.join(', ')})`);
    }
  }
}

function str(value: unknown, path: readonly (string | number)[], c: Failures, scalarText?: (path: readonly (string | number)[]) => string | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' || typeof value === 'boolean') && scalarText) {
    // `PORT: 8080` in env: keep the digits as written (0644 stays 0644).
    const text = scalarText(path);
    if (text !== undefined) return text;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  c.fail(path, `must be a string, not ${describeType(value)}`);
  return undefined;
}

export function strictString(value: unknown, path: readonly (string | number)[], c: Failures): string | undefined {
  if (typeof value === 'string') return value;
  c.fail(path, value === undefined ? 'is required' : `must be a string, not ${describeType(value)}`);
  return undefined;
}

export function stringList(value: unknown, path: readonly (string | number)[], c: Failures): string[] | undefined {
  if (!Array.isArray(value)) {
    c.fail(path, `must be a list of strings, not ${describeType(value)}`);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    const s = strictString(item, [...path, i], c);
    if (s !== undefined) out.push(s);
  });
  return out;
}

export function checkForward(value: unknown, path: readonly (string | number)[], c: Failures): string[] | undefined {
  if (!Array.isArray(value)) {
    c.fail(path, `must be a list such as ['8080:80', ':9229'], not ${describeType(value)}`);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    if (typeof item !== 'string' && typeof item !== 'number') {
      c.fail([...path, i], `"${String(item)}" is not LOCAL:REMOTE, :REMOTE or PORT`);
      return;
    }
    try {
      out.push(parseForwardSpec(item, 'forward').text);
    } catch (error) {
      if (!(error instanceof DevError)) throw error;
      c.fail([...path, i], error.message.replace(/^forward: /, ''));
    }
  });
  return out;
}

export function checkReverse(value: unknown, path: readonly (string | number)[], c: Failures): string[] | undefined {
  if (!Array.isArray(value)) {
    c.fail(path, `must be a list such as ['5432:5432', '9000:3000'], not ${describeType(value)}`);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    if (typeof item !== 'string' && typeof item !== 'number') {
      c.fail([...path, i], `"${String(item)}" is not REMOTE:LOCAL or PORT`);
      return;
    }
    try {
      out.push(parseReverseSpec(item, 'reverse').text);
    } catch (error) {
      if (!(error instanceof DevError)) throw error;
      c.fail([...path, i], error.message.replace(/^reverse: /, ''));
    }
  });
  return out;
}

export function checkEnv(value: unknown, path: readonly (string | number)[], c: Failures, scalarText: (path: readonly (string | number)[]) => string | undefined): EnvVar[] | undefined {
  if (isPlainObject(value)) {
    const out: EnvVar[] = [];
    for (const [name, v] of Object.entries(value)) {
      const s = str(v, [...path, name], c, scalarText);
      if (s !== undefined) out.push({ name, value: s });
    }
    return out;
  }
  if (Array.isArray(value)) {
    const out: EnvVar[] = [];
    value.forEach((item, i) => {
      const at = [...path, i];
      if (!isPlainObject(item)) {
        c.fail(at, `must be a mapping with name and value (or valueFrom), not ${describeType(item)}`);
        return;
      }
      checkKeys(item, ['name', 'value', 'valueFrom'], at, c);
      const name = strictString(item.name, [...at, 'name'], c);
      if (name === '') c.fail([...at, 'name'], 'must not be empty');
      if (item.value !== undefined && item.valueFrom !== undefined) c.fail(at, 'has both value and valueFrom; keep one');
      if (item.valueFrom !== undefined && !isPlainObject(item.valueFrom)) c.fail([...at, 'valueFrom'], `must be a mapping, not ${describeType(item.valueFrom)}`);
      const entry: EnvVar = { name: name ?? '' };
      if (item.value !== undefined) {
        const s = str(item.value, [...at, 'value'], c, scalarText);
        if (s !== undefined) entry.value = s;
      }
      if (isPlainObject(item.valueFrom)) entry.valueFrom = structuredClone(item.valueFrom);
      if (name) out.push(entry);
    });
    return out;
  }
  c.fail(path, `must be a mapping of NAME: value or a list of {name, value}, not ${describeType(value)}`);
  return undefined;
}

/** The keys under `sync:`, from the field table. */
const SYNC_KEYS = fieldsOf('sync');

export function checkSync(value: unknown, path: readonly (string | number)[], c: Failures): SyncConfig | undefined {
  if (!isPlainObject(value)) {
    c.fail(path, `must be a mapping (localDir, ignore, ignoreFile, mode, initial), not ${describeType(value)}`);
    return undefined;
  }
  checkKeys(value, SYNC_KEYS, path, c);
  const out: SyncConfig = {};
  if (value.localDir !== undefined) {
    const s = strictString(value.localDir, [...path, 'localDir'], c);
    if (s !== undefined && !staysInside(s)) {
      c.fail([...path, 'localDir'], `"${s}" leaves the directory of this file; a dev config can only sync its own project's folders (a file in a cloned repository must not reach the rest of your disk) — pass --local-dir on the command line to sync another folder`);
    } else if (s !== undefined) out.localDir = s;
  }
  if (value.ignore !== undefined) {
    const list = stringList(value.ignore, [...path, 'ignore'], c);
    if (list) out.ignore = list;
  }
  if (value.ignoreFile !== undefined) {
    if (value.ignoreFile === '.gitignore') out.ignoreFile = '.gitignore';
    else c.fail([...path, 'ignoreFile'], `must be .gitignore (the tree's .gitignore files, read as git reads them), not ${JSON.stringify(value.ignoreFile)}`);
  }
  if (value.mode !== undefined) {
    if (value.mode === 'send-only' || value.mode === 'two-way') out.mode = value.mode;
    else c.fail([...path, 'mode'], `must be send-only or two-way, not ${JSON.stringify(value.mode)}`);
  }
  if (value.initial !== undefined) {
    if ((INITIAL_STRATEGIES as readonly unknown[]).includes(value.initial)) out.initial = value.initial as InitialStrategy;
    else c.fail([...path, 'initial'], `must be ${INITIAL_STRATEGIES.join(', ')} (what the first sync does when both sides have files), not ${JSON.stringify(value.initial)}`);
  }
  return out;
}
