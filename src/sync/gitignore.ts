// `.gitignore` files as syncthing ignore patterns (`ignoreFile: .gitignore`), with git's meaning
// wherever syncthing's pattern language can say it, and a warning where it cannot. The
// differences that matter: git's last matching pattern wins, syncthing's first (so the order is
// reversed); a git pattern with a slash before its end is anchored to its .gitignore's
// directory, syncthing's only when it starts with `/`; syncthing gives `{`, `}` and leading
// `(?` a meaning git does not. Pure: the files' texts come in, pattern lines go out.

export interface GitignoreFile {
  /** The directory of the .gitignore, relative to the synced root, '' for the root itself. */
  dir: string;
  text: string;
}

export interface TranslatedIgnores {
  /** Lines for .stignore, in syncthing's order (first match wins). */
  lines: string[];
  /** Patterns syncthing cannot express exactly, each with its file and line. */
  warnings: string[];
  /**
   * Patterns git applies to directories only (`build/`): syncthing cannot say "directory", so a
   * file of that name is ignored too. Their lines, to tell whether a tree has such a file.
   */
  directoryOnly: { where: string; pattern: string; lines: string[] }[];
}

/** What a directory-only pattern does to a file it matches, for the user. */
export function directoryOnlyWarning(d: TranslatedIgnores['directoryOnly'][number], file: string): string {
  return `${d.where}: "${d.pattern}" matches only directories in git; syncthing cannot say "directory", so the file ${file} is ignored too`;
}

/** One pattern line of a .gitignore, undefined for blanks and comments (git's rules for `\`, trailing spaces, `#`). */
function patternOf(raw: string): string | undefined {
  let line = raw.replace(/\r$/, '');
  if (line === '' || line.startsWith('#')) return undefined;
  // Trailing spaces are dropped unless escaped with a backslash.
  line = line.replace(/(?<!\\)((?:\\\\)*) +$/, '$1');
  if (line.endsWith('\\ ')) line = `${line.slice(0, -2)} `;
  return line === '' ? undefined : line;
}

/** One git pattern as syncthing lines (an unanchored one below a subdirectory needs two), or a reason it cannot be said. */
function translate(pattern: string, dir: string): { lines: string[]; warning?: string; directoryOnly?: boolean } {
  let negate = false;
  let body = pattern;
  if (body.startsWith('!')) {
    negate = true;
    body = body.slice(1);
  } else if (body.startsWith('\\!') || body.startsWith('\\#')) {
    body = body.slice(1);
  }
  if (/[{}]/.test(body) || body.startsWith('(?')) {
    return { lines: [], warning: 'has "{", "}" or a leading "(?", which syncthing reads as alternatives or flags: left out' };
  }
  const directoryOnly = body.endsWith('/');
  body = body.replace(/\/+$/, '');
  const anchored = body.startsWith('/') || body.includes('/');
  body = body.replace(/^\/+/, '');
  if (body === '') return { lines: [] };
  // syncthing trims a pattern's spaces at both ends; git keeps leading ones and escaped trailing ones.
  body = body.replace(/^ +| +$/g, (spaces) => '[ ]'.repeat(spaces.length));
  const prefix = negate ? '!' : '';
  const base = dir === '' ? '' : `/${dir}`;
  // Unanchored: at any depth below the file's directory. Rooted (`/…`) lines also keep a leading
  // `!` or `#` of the name from reading as a negation or a directive.
  const rooted = anchored ? [body] : dir === '' && !/^[!#]/.test(body) ? undefined : [body, `**/${body}`];
  const lines = rooted === undefined ? [`${prefix}${body}`] : [...new Set(rooted.flatMap(starVariants).map((b) => `${prefix}${base}/${b}`))];
  return { lines, ...(directoryOnly ? { directoryOnly } : {}) };
}

// Git's double-star segment also matches no directory at all (a/**/b matches a/b); syncthing's
// spans at least the separators written around it: both forms are needed.
function starVariants(body: string): string[] {
  const parts = body.split('/');
  let out: string[][] = [[]];
  parts.forEach((part, i) => {
    // A `**` segment before another segment may also stand for no directory.
    const optional = part === '**' && i < parts.length - 1;
    out = out.flatMap((prefix) => (optional ? [[...prefix, part], prefix] : [[...prefix, part]]));
  });
  return [...new Set(out.slice(0, 8).map((p) => p.join('/')))];
}

/**
 * The .gitignore files (outermost first, as git reads them: a deeper file's patterns override
 * a shallower one's) as .stignore lines.
 */
export function gitignoreToStignore(files: readonly GitignoreFile[]): TranslatedIgnores {
  const ordered: string[][] = [];
  const warnings: string[] = [];
  const directoryOnly: TranslatedIgnores['directoryOnly'] = [];
  const sorted = [...files].sort((a, b) => depth(a.dir) - depth(b.dir));
  for (const file of sorted) {
    const where = file.dir === '' ? '.gitignore' : `${file.dir}/.gitignore`;
    file.text.split('\n').forEach((raw, index) => {
      const pattern = patternOf(raw);
      if (pattern === undefined) return;
      const out = translate(pattern, file.dir);
      if (out.warning) warnings.push(`${where}:${index + 1}: "${pattern}" ${out.warning}`);
      if (out.directoryOnly && !pattern.startsWith('!')) directoryOnly.push({ where: `${where}:${index + 1}`, pattern, lines: out.lines });
      if (out.directoryOnly && pattern.startsWith('!')) warnings.push(`${where}:${index + 1}: "${pattern}" matches only directories in git; syncthing cannot say "directory", so files of that name are re-included too`);
      if (out.lines.length > 0) ordered.push(out.lines);
      if (pattern.startsWith('!') && out.lines.length > 0) {
        warnings.push(`${where}:${index + 1}: "${pattern}" re-includes a path; git does not when a directory above it is ignored, syncthing does`);
      }
    });
  }
  // Git: the last match wins; syncthing: the first. Reversed, each path gets git's answer.
  return { lines: ordered.reverse().flat(), warnings, directoryOnly };
}

const depth = (dir: string) => (dir === '' ? 0 : dir.split('/').length);
