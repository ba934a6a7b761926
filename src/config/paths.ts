// Path rules of the dev config, without the parser (the CLI's start-up part imports them).

/** A relative path that, once `.` and `..` are resolved, is still under its starting directory (either separator). */
export function staysInside(relative: string): boolean {
  if (/^([A-Za-z]:)?[\\/]/.test(relative) || /^[A-Za-z]:/.test(relative)) return false;
  let depth = 0;
  for (const part of relative.split(/[\\/]+/)) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return false;
  }
  return true;
}
