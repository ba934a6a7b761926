// The shell scripts `kubectl dev run` sends with exec. POSIX sh only (dash, busybox ash,
// bash), no ps/awk/setsid, because dev images are often minimal: the process tree is
// read from /proc. Pure: strings and argument lists.
//
// Start: stop what an earlier run left (by its pid file), cd to the work dir, record
// "pid starttime" and exec the command — so the pid file names the command itself,
// and the start time guards against a reused pid.
// Stop: TERM the recorded process and all its descendants, KILL what is left after
// the grace period, remove the pid file.

const FUNCTIONS = `
field() { n=$2; s=""; read -r s 2>/dev/null < "/proc/$1/stat" || return 1; s=\${s##*) }; set -- $s; shift "$n"; echo "$1"; }
starttime() { field "$1" 19; }
alive() { st=$(field "$1" 0) && [ "$st" != Z ] && [ "$st" != X ]; }
tree() {
  r=$1; all=""
  for d in /proc/[0-9]*; do
    s=""; read -r s 2>/dev/null < "$d/stat" || continue
    s=\${s##*) }; set -- $s
    all="$all \${d#/proc/}:$2"
  done
  t=" $r "; more=1
  while [ "$more" = 1 ]; do
    more=0
    for pp in $all; do
      case "$t" in *" \${pp#*:} "*) case "$t" in *" \${pp%%:*} "*) ;; *) t="$t\${pp%%:*} "; more=1 ;; esac ;; esac
    done
  done
  echo $t
}
stop_recorded() {
  [ -r "$1" ] || return 0
  pid=""; start=""; read -r pid start < "$1" || true
  if [ -n "$pid" ] && [ "$(starttime "$pid")" = "$start" ]; then
    pids=$(tree "$pid")
    kill -TERM $pids 2>/dev/null
    i=0; left="$pids"
    while :; do
      now=""
      for p in $left; do alive "$p" && now="$now $p"; done
      left="$now"
      [ -n "$left" ] && [ "$i" -lt "$2" ] || break
      # Most commands end within milliseconds of TERM: look again soon, then every 50 ms.
      if [ "$i" -lt 20 ]; then sleep 0.01 2>/dev/null || sleep 1; else sleep 0.05 2>/dev/null || sleep 1; fi
      i=$((i + 1))
    done
    [ -n "$left" ] && kill -KILL $left 2>/dev/null
  fi
  rm -f "$1"
}
`;

/** Checks a stopped command gets between TERM and KILL (20 every 10 ms, then every 50 ms): 5 s. */
export const GRACE_CHECKS = 116;

/** Where the pid file of a workload's run lives in the container (one per workload and container). */
export function pidFileOf(key: string): string {
  return `/tmp/kubectl-dev-run.${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.pid`;
}

const START = `
stop_recorded "$1" ${GRACE_CHECKS}
cd "$2" || exit 126
echo "$$ $(starttime $$)" > "$1" || echo "kubectl-dev: cannot write $1: the command cannot be stopped on restart" >&2
shift 2
exec "$@"
`;

/** exec argv that (re)starts `command` in `workdir`, after stopping the run recorded in `pidFile`. */
export function startArgv(pidFile: string, workdir: string, command: readonly string[]): string[] {
  return ['/bin/sh', '-c', `${FUNCTIONS}${START}`, 'kubectl-dev-run', pidFile, workdir, ...command];
}

/** The line that releases a standby start (standbyArgv). */
export const STANDBY_GO = 'go\n';

/**
 * exec argv of a start opened ahead of time: it waits for the line STANDBY_GO on stdin, then
 * does what startArgv does, with the command's stdin from /dev/null (as without stdin). When
 * stdin ends first, it exits 0 and does nothing. A restart through it needs no new exec (the
 * exec's set-up through the API server, kubelet and runtime is most of a restart's time).
 */
export function standbyArgv(pidFile: string, workdir: string, command: readonly string[]): string[] {
  const script = `go=""; read -r go || exit 0; [ "$go" = go ] || exit 0; exec < /dev/null
${FUNCTIONS}${START}`;
  return ['/bin/sh', '-c', script, 'kubectl-dev-standby', pidFile, workdir, ...command];
}

/** exec argv that stops the run recorded in `pidFile` (and its children). */
export function stopArgv(pidFile: string): string[] {
  return ['/bin/sh', '-c', `${FUNCTIONS}\nstop_recorded "$1" ${GRACE_CHECKS}\n`, 'kubectl-dev-stop', pidFile];
}

/** A command given as one string runs with /bin/sh -c, as the dev config's `run:` does. */
export function commandOf(input: string | readonly string[]): string[] {
  return typeof input === 'string' ? ['/bin/sh', '-c', input] : [...input];
}
