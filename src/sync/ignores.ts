// What is not synced. syncthing reads ignore patterns only from `.stignore` in the
// folder root, so the laptop side's patterns must live there:
//  - the developer's own `.stignore` is used as it is and never edited;
//  - otherwise, when there is anything to ignore (`.git` when it exists, patterns
//    from the dev config), kubectl-dev writes a `.stignore` that starts with
//    MANAGED_HEADER and keeps it up to date; remove the header to take it over.
// With nothing to ignore, nothing is written: the local folder stays untouched.
// The sidecar gets the same patterns over REST, so that it never expects or sends
// back what the laptop ignores.
//
// `ignoreMatcher` is a small reading of syncthing's pattern language used by the
// fast path to skip obviously ignored paths (.git/objects/...). It only saves REST
// calls: syncthing itself still applies the real patterns.

import { existsSync, readdirSync, readFileSync, writeFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { directoryOnlyWarning, gitignoreToStignore, type GitignoreFile, type TranslatedIgnores } from './gitignore.ts';

export const STIGNORE = '.stignore';
export const MANAGED_HEADER = '// Managed by kubectl-dev (paths not synced to the dev container). Delete this line to edit the file by hand.';
/** Ignored by default. */
export const DEFAULT_IGNORES: readonly string[] = ['.git'];

export interface IgnorePlan {
  /** The patterns in effect (as lines of .stignore). */
  lines: string[];
  /** What happens to .stignore. */
  action: 'none' | 'write' | 'keep-user-file';
  /** Patterns that were asked for but are not in the developer's own .stignore. */
  notApplied: string[];
  /** The content to write when action is "write". */
  content?: string;
}

/** Decides the ignore patterns and what to do with `.stignore` (pure but for the two reads it is given). */
export function planIgnores(input: { existing: string | undefined; gitExists: boolean; configured: readonly string[] }): IgnorePlan {
  const wanted = [...(input.gitExists ? DEFAULT_IGNORES : []), ...input.configured].filter((p, i, all) => p.trim() !== '' && all.indexOf(p) === i);
  if (input.existing !== undefined && !input.existing.startsWith(MANAGED_HEADER)) {
    const have = new Set(input.existing.split(/\r?\n/).map((l) => l.trim()));
    return { lines: input.existing.split(/\r?\n/), action: 'keep-user-file', notApplied: wanted.filter((p) => !have.has(p)) };
  }
  if (wanted.length === 0) {
    // A managed file from an earlier session with nothing left to ignore: an empty managed file.
    if (input.existing !== undefined) return { lines: [], action: input.existing === `${MANAGED_HEADER}\n` ? 'none' : 'write', notApplied: [], content: `${MANAGED_HEADER}\n` };
    return { lines: [], action: 'none', notApplied: [] };
  }
  const content = `${[MANAGED_HEADER, ...wanted].join('\n')}\n`;
  return { lines: wanted, action: input.existing === content ? 'none' : 'write', notApplied: [], content };
}

/** Applies the plan to `localDir`: reads .stignore, writes it when kubectl-dev manages it. */
export function applyIgnores(localDir: string, configured: readonly string[]): IgnorePlan {
  const path = join(localDir, STIGNORE);
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const plan = planIgnores({ existing, gitExists: existsSync(join(localDir, '.git')), configured });
  if (plan.action === 'write' && plan.content !== undefined) writeFileSync(path, plan.content);
  return plan;
}

/**
 * The tree's .gitignore files as syncthing patterns (`ignoreFile: .gitignore`). Directories the
 * patterns found so far ignore are not entered: git reads no .gitignore inside them either. A
 * directory-only pattern (`build/`) is warned about only when a file of the tree matches it.
 */
export function gitignorePatterns(localDir: string): TranslatedIgnores {
  const files: GitignoreFile[] = [];
  const treeFiles: string[] = [];
  let ignored = (_rel: string) => false;
  const visit = (rel: string) => {
    const dir = rel === '' ? localDir : join(localDir, rel);
    const file = join(dir, '.gitignore');
    if (existsSync(file)) {
      files.push({ dir: rel, text: readFileSync(file, 'utf8') });
      ignored = ignoreMatcher(gitignoreToStignore(files).lines);
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: syncthing reports it when it scans
    }
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (!entry.isDirectory()) treeFiles.push(child);
      else if (!ignored(child)) visit(child);
    }
  };
  visit('');
  const translated = gitignoreToStignore(files);
  const hits = translated.directoryOnly.flatMap((d) => {
    const matches = ignoreMatcher(d.lines);
    const file = treeFiles.find((f) => matches(f));
    return file === undefined ? [] : [directoryOnlyWarning(d, file)];
  });
  return { ...translated, warnings: [...translated.warnings, ...hits] };
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

/** syncthing glob → regular expression source (`**` crosses "/", `*` and `?` do not). */
export function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else {
        out += '[^/]*';
      }
    } else if (ch === '?') {
      out += '[^/]';
    } else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) {
        out += '\\[';
      } else {
        let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        out += `[${cls}]`;
        i = end;
      }
    } else if (ch === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end < 0) {
        out += '\\{';
      } else {
        out += `(?:${glob.slice(i + 1, end).split(',').map(globToRegex).join('|')})`;
        i = end;
      }
    } else if (ch === '\\' && i + 1 < glob.length) {
      out += escapeRegex(glob[++i] as string);
    } else {
      out += escapeRegex(ch);
    }
  }
  return out;
}

interface Rule {
  re: RegExp;
  include: boolean;
}

/**
 * How syncthing reads patterns on a platform. On macOS and Windows every pattern folds case
 * (as if it began with "(?i)": syncthing's ignoreresult_foldcase.go), and on Windows "\\" in a
 * pattern is a path separator (filepath.ToSlash), not the escape it is elsewhere.
 */
export interface MatchRules {
  foldCase: boolean;
  backslashIsSeparator: boolean;
}

export function syncthingRules(platform: NodeJS.Platform = process.platform): MatchRules {
  return { foldCase: platform === 'darwin' || platform === 'win32', backslashIsSeparator: platform === 'win32' };
}

const LINUX_RULES: MatchRules = { foldCase: false, backslashIsSeparator: false };

/**
 * A predicate for relative paths (with "/" separators): true when the first
 * matching pattern ignores the path, or a parent directory of it — read with the
 * rules of one platform (default: Linux's).
 */
export function ignoreMatcher(lines: readonly string[], rules: MatchRules = LINUX_RULES): (relPath: string) => boolean {
  const rules_: Array<Rule & { fold: boolean }> = [];
  for (const raw of lines) {
    let line = raw.trim();
    if (line === '' || line.startsWith('//') || line.startsWith('#')) continue;
    if (rules.backslashIsSeparator) line = line.replace(/\\/g, '/');
    let include = false;
    let fold = rules.foldCase;
    for (;;) {
      if (line.startsWith('!')) {
        include = true;
        line = line.slice(1);
      } else if (line.startsWith('(?i)')) {
        fold = true;
        line = line.slice(4);
      } else if (line.startsWith('(?d)')) {
        line = line.slice(4);
      } else {
        break;
      }
    }
    if (line === '') continue;
    // syncthing lowercases a case-folding pattern and the path it is matched against.
    if (fold) line = line.toLowerCase();
    const anchored = line.startsWith('/');
    const body = globToRegex(line.replace(/^\/+/, '').replace(/\/+$/, ''));
    // A pattern matches the path itself or anything under it; unanchored ones at any depth.
    const source = anchored ? `^${body}(?:/.*)?$` : `^(?:.*/)?${body}(?:/.*)?$`;
    rules_.push({ re: new RegExp(source), include, fold });
  }
  return (relPath: string) => {
    let lower: string | undefined;
    for (const rule of rules_) {
      const subject = rule.fold ? (lower ??= relPath.toLowerCase()) : relPath;
      if (rule.re.test(subject)) return !rule.include;
    }
    return false;
  };
}

/**
 * What the initial copy leaves out: whatever syncthing would ignore under any platform's
 * rules — case folded or not, "\\" an escape or a separator. The local syncthing never sends
 * what it ignores and the sidecar never deletes it, so a file the copy put in that syncthing
 * ignores would stay in the container for good (with "secrets.env" ignored on macOS,
 * "Secrets.env" did). Leaving out more than needed only leaves it to syncthing.
 */
export function copyMatcher(lines: readonly string[]): (relPath: string) => boolean {
  const matchers = [false, true].flatMap((foldCase) => [false, true].map((backslashIsSeparator) => ignoreMatcher(lines, { foldCase, backslashIsSeparator })));
  return (relPath: string) => matchers.some((m) => m(relPath));
}
