// Listing a project's targets runs make (or an mkcli `--list-targets`), and make runs `$(shell …)`
// while it parses, remakes included makefiles and runs `+` and `$(MAKE)` lines even under -q. So the
// listing runs in a throwaway view of the machine: a private mount namespace (util-linux `unshare`)
// where every filesystem is an overlay whose upper layer is a tmpfs that vanishes with the
// namespace, with a fresh /dev, /proc, network (loopback only), IPC and pid namespace. Make still
// produces its whole database there (a generated include is generated, inside), and nothing it
// writes reaches the machine. The same scripts run locally and on a remote host over ssh.

/**
 * Started by `sh -c`: $1 = the jail script, then what it takes. Exits 97 with a `vmo-sandbox:` line
 * when the host offers no isolation; the caller then lists in the safe mode.
 */
const LAUNCH = `command -v unshare >/dev/null 2>&1 || { echo "vmo-sandbox: unshare (util-linux) is not installed" >&2; exit 97; }
userns=; [ "$(id -u)" = 0 ] || { userns="--user --map-root-user"; export VMO_SANDBOX_USERNS=1; }
jail=$1; shift
exec unshare $userns --mount --pid --fork --kill-child --net --ipc --uts --propagation private sh -c "$jail" vmo-sandbox "$@"`;

/**
 * Inside the new namespaces: $1 = the script to run in the jail, then its arguments. Builds the jail
 * on a tmpfs (overlays of every real filesystem, a fresh /dev and /proc, a read-only /sys), says
 * `vmo-sandbox: ready` on stderr and chroots into it.
 */
const JAIL = `set -u
fail() { echo "vmo-sandbox: $*" >&2; exit 97; }
inner=$1; shift
ux=; [ -z "\${VMO_SANDBOX_USERNS:-}" ] || ux=,userxattr
mount -t tmpfs -o mode=0755 vmo-sandbox /tmp 2>/dev/null || fail "cannot mount a tmpfs (no privilege for a mount namespace here)"
cd /tmp && mkdir old j u w u/0 w/0 || fail "cannot prepare the tmpfs"
for d in usr bin sbin lib lib32 lib64 libx32 etc dev; do ln -s "old/$d" "$d"; done
pivot_root . old 2>/dev/null || fail "cannot pivot_root (the root is not a mount point here)"
cd /
n=0
cover() {
  n=$((n+1)); mkdir "/u/$n" "/w/$n"
  mount -t overlay vmo-overlay -o "lowerdir=$1,upperdir=/u/$n,workdir=/w/$n$ux" "$2" 2>/dev/null ||
    { mount --rbind "$1" "$2" && mount -o remount,bind,ro "$2"; } 2>/dev/null || fail "cannot cover $1"
}
# The whole root in one overlay where the kernel allows it; in a user namespace a mount with
# submounts cannot be a lower layer, so there each top-level entry gets its own.
if mount -t overlay vmo-overlay -o "lowerdir=/old,upperdir=/u/0,workdir=/w/0$ux" /j 2>/dev/null; then top=
else
  top=1
  mount -t tmpfs -o mode=0755 vmo-root /j || fail "cannot mount the root"
  for e in /old/* /old/.[!.]*; do
    name=\${e#/old/}
    if [ -L "$e" ]; then cp -P "$e" "/j/$name"
    elif [ -d "$e" ]; then mkdir "/j/$name"; case "$name" in proc|sys|dev) ;; *) cover "$e" "/j/$name" ;; esac
    elif [ -e "$e" ]; then : > "/j/$name"; mount --bind "$e" "/j/$name" && mount -o remount,bind,ro "/j/$name"
    fi
  done
fi
# Every other filesystem, parents first (mountinfo escapes spaces as \\040).
awk -v top="$top" '{ mp = $5
  while (match(mp, /\\\\[0-7][0-7][0-7]/)) { o = substr(mp, RSTART + 1, 3)
    mp = substr(mp, 1, RSTART - 1) sprintf("%c", substr(o, 1, 1) * 64 + substr(o, 2, 1) * 8 + substr(o, 3, 1)) substr(mp, RSTART + 4) }
  if (mp !~ (top ? "^/old/[^/]+/" : "^/old/") || mp ~ "^/old/(proc|sys|dev)(/|$)") next
  print gsub("/", "/", mp) "\\t" mp }' /old/proc/self/mountinfo | sort -n -s -k1,1 | cut -f2- > /mounts || fail "cannot read the mounts"
while IFS= read -r mp; do [ ! -d "/j\${mp#/old}" ] || cover "$mp" "/j\${mp#/old}"; done < /mounts
mount -t proc proc /j/proc 2>/dev/null || mount --rbind /old/proc /j/proc || fail "cannot mount /proc"
mount --rbind /old/sys /j/sys 2>/dev/null && mount -o remount,bind,ro /j/sys 2>/dev/null
mount -t tmpfs -o mode=0755 vmo-dev /j/dev || fail "cannot mount /dev"
for d in null zero full random urandom tty; do : > "/j/dev/$d" && mount --bind "/old/dev/$d" "/j/dev/$d" 2>/dev/null; done
mkdir /j/dev/shm /j/dev/pts && mount -t tmpfs vmo-shm /j/dev/shm
ln -s /proc/self/fd /j/dev/fd; ln -s /proc/self/fd/0 /j/dev/stdin; ln -s /proc/self/fd/1 /j/dev/stdout; ln -s /proc/self/fd/2 /j/dev/stderr
unset VMO_SANDBOX_USERNS
echo "vmo-sandbox: ready" >&2
exec chroot /j /bin/sh -c "$inner" vmo-list "$@"`;

/**
 * Runs in the project's directory (in the jail, or bare in tests of the framing): $1 = a boundary
 * token, $2 = the directory, then the listing command. Prints the command's output, then the
 * directory's entries and the text of every makefile make and its sub-makes read (each
 * database's MAKEFILE_LIST against its CURDIR), each after a boundary line, so one round trip
 * brings everything, generated includes too.
 */
const LIST = `b=$1; cd "$2" 2>/dev/null || { echo "make: *** $2: No such file or directory.  Stop." >&2; exit 2; }
shift 2
export LC_ALL=C; unset MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKELEVEL MAKEFILES
out=$(mktemp) && names=$(ls -A1) || exit 97
"$@" < /dev/null > "$out"; rc=$?
cat "$out"
printf '\\n%s ls\\n%s\\n' "$b" "$names"
awk '/^# Make data base, printed on/ { d = ""; l = "" }
  /^CURDIR :?= / { d = $0; sub(/^CURDIR :?= /, "", d) }
  /^MAKEFILE_LIST :?= / { l = $0; sub(/^MAKEFILE_LIST :?= /, "", l) }
  /^# Finished Make data base/ { n = split(l, a, " "); for (i = 1; i <= n; i++) print (a[i] ~ /^\\// ? a[i] : d "/" a[i]) }' "$out" |
  awk '!seen[$0]++' | while IFS= read -r f; do printf '\\n%s file %s\\n' "$b" "$f"; cat -- "$f" 2>/dev/null; done
rm -f "$out"
exit $rc`;

/** argv that lists `command` in `dir` inside the sandbox. */
export function sandboxArgv(command: string[], dir: string, boundary: string): string[] {
  return ['/bin/sh', '-c', LAUNCH, 'vmo-sandbox', JAIL, LIST, boundary, dir, ...command];
}

/** An argv as one command line for a remote shell. */
export function commandLine(argv: string[]): string {
  return argv.map(shellWord).join(' ');
}

function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface Listing {
  /** The listing command's own output. */
  output: string;
  /** Names in the project's directory, as they were before make ran. */
  entries: string[];
  /** The makefiles make read (sub-makes' too), by absolute path, with their text. */
  files: { name: string; text: string }[];
}

/** Splits the framed stdout of `LIST`. */
export function splitListing(stdout: string, boundary: string): Listing {
  const parts = stdout.split(`\n${boundary} `);
  const listing: Listing = { output: parts[0] ?? '', entries: [], files: [] };
  for (const part of parts.slice(1)) {
    const nl = part.indexOf('\n');
    const head = nl < 0 ? part : part.slice(0, nl);
    const body = nl < 0 ? '' : part.slice(nl + 1);
    if (head === 'ls') listing.entries = body.split('\n').filter(Boolean);
    else if (head.startsWith('file ')) listing.files.push({ name: head.slice(5), text: body });
  }
  return listing;
}

/**
 * Splits stderr at the jail's `ready` line: before it, what the sandbox said of itself; after it,
 * the listing command's own messages. `ready` is false when the jail was never entered.
 */
export function splitSandboxStderr(stderr: string): {
  ready: boolean;
  sandbox: string;
  rest: string;
} {
  const marker = 'vmo-sandbox: ready\n';
  const at = stderr.indexOf(marker);
  if (at < 0) return { ready: false, sandbox: stderr.trim(), rest: '' };
  return {
    ready: true,
    sandbox: stderr.slice(0, at).trim(),
    rest: stderr.slice(at + marker.length),
  };
}

/** Why the sandbox could not be had, in one line for the project's state. */
export function sandboxFailure(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const own = lines.filter((l) => l.startsWith('vmo-sandbox: ')).map((l) => l.slice(13));
  return (own.at(-1) ?? lines.at(-1) ?? 'no isolation available').slice(0, 300);
}
