#!/usr/bin/env bash
# oci-conformance.sh - run the OCI runtime-tools validation suite against one
# OCI runtime, one test file at a time, and summarise the results.
#
# Usage:
#   bench/oci-conformance.sh RUNTIME_BINARY [RUNTIME_TOOLS_DIR=/tmp/rt/runtime-tools] [OUTDIR]
#
#   RUNTIME_BINARY     runtime CLI to test (e.g. /usr/bin/crun, /usr/sbin/runc);
#                      passed to the tests as $RUNTIME.
#   RUNTIME_TOOLS_DIR  a built checkout of opencontainers/runtime-tools
#                      (default /tmp/rt/runtime-tools).
#   OUTDIR             where <name>.tap / <name>.stderr and summary.txt go
#                      (default: a fresh mktemp dir under ${TMPDIR:-/tmp}).
#   env TEST_TIMEOUT   per-file timeout in seconds (default 60).
#
# Must run as root (the tests create real containers, cgroups and mounts).
#
# Obtaining runtime-tools (this script never downloads anything itself):
#   git clone https://github.com/opencontainers/runtime-tools /tmp/rt/runtime-tools
#   cd /tmp/rt/runtime-tools && git checkout 260e151
#   apt-get install -y golang-go          # Debian Go (1.19 works)
#   GOFLAGS=-mod=vendor GOPROXY=off make runtimetest validation-executables
# That builds ./runtimetest (static, copied into every test bundle) and
# validation/<name>/<name>.t for each of the 58 test programs. Each .t binary
# prints TAP 13 on stdout. The tests expect to run with the repo root as the
# working directory: they untar ./rootfs-amd64.tar.gz into a bundle under
# $TMPDIR (os.MkdirTemp("", "ocitest")), copy ./runtimetest into it, and call
# the runtime named by $RUNTIME (default "runc").
# Upstream runs them via node-tap 16 (`npm install tap@16`;
# `RUNTIME=crun tap validation/*/*.t`); node-tap is only a runner, so this
# script runs the .t binaries directly and reads the TAP itself.
#
# Per file the script:
#   * runs `timeout TEST_TIMEOUT unshare -m <file>.t` (private mount namespace,
#     because some tests leave mounts behind) with RUNTIME set and cwd = repo,
#   * with TMPDIR pointing at a scratch dir that is deleted afterwards,
#   * force-deletes any container the runtime lists afterwards that was not
#     listed before the file ran (tests that fail half-way leave containers),
#   * writes stdout to OUTDIR/<name>.tap and stderr to OUTDIR/<name>.stderr.
#
# Verdict per file (mirrors how node-tap 16 classifies a test file):
#   PASS     exit status 0, at least one test point, no "not ok" line, and a
#            plan "1..N" matching the number of test points. "# SKIP" test
#            points are allowed (and counted). Only PASS files count as
#            "clean passes".
#   SKIP     exit status 0 and no test points at all ("1..0", or no TAP
#            output: node-tap reports both as a skipped file, not a pass).
#            The lifecycle tests (poststart, poststop, prestart_fail, ...)
#            and the *_fail tests' success path always look like this, so
#            they can never be clean passes.
#   FAIL     anything else: non-zero exit (often util.Fatal: the runtime
#            could not create/run the container), any "not ok", a missing or
#            wrong plan, or a zero-test file that printed an "error"
#            diagnostic (how hooks/prestart/poststart report a violation;
#            node-tap would call those skipped).
#   TIMEOUT  killed by the per-file timeout.
# Output: one line per file
#   PASS|FAIL|SKIP|TIMEOUT <name> (ok X / not ok Y / skip Z) [notes] [secs]
# then "clean passes: N of M files". Also saved as OUTDIR/summary.txt.
# Exit status: 0 when the run completed (whatever the pass count), 2 on usage
# or setup errors.

set -u

usage() {
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 3 ] || usage
case "$1" in -h|--help) usage ;; esac

rt_arg=$1
tools_dir=${2:-/tmp/rt/runtime-tools}
timeout_s=${TEST_TIMEOUT:-60}

runtime_bin=$(command -v -- "$rt_arg" 2>/dev/null) || {
	echo "runtime binary not found: $rt_arg" >&2; exit 2; }
case "$runtime_bin" in /*) ;; *) runtime_bin=$(cd "$(dirname "$runtime_bin")" && pwd)/$(basename "$runtime_bin") ;; esac
[ -x "$runtime_bin" ] || { echo "not executable: $runtime_bin" >&2; exit 2; }
rt_name=$(basename "$runtime_bin")

if [ "$(id -u)" -ne 0 ]; then
	echo "must run as root" >&2; exit 2
fi
for tool in unshare timeout tar; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

tools_dir=$(cd "$tools_dir" 2>/dev/null && pwd) || {
	echo "runtime-tools dir not found: ${2:-/tmp/rt/runtime-tools}" >&2; exit 2; }
[ -x "$tools_dir/runtimetest" ] || {
	echo "$tools_dir/runtimetest missing; run 'make runtimetest validation-executables' there" >&2; exit 2; }
arch=$(go env GOARCH 2>/dev/null || true)
[ -n "$arch" ] || case "$(uname -m)" in x86_64) arch=amd64 ;; i?86) arch=386 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
[ -f "$tools_dir/rootfs-$arch.tar.gz" ] || {
	echo "$tools_dir/rootfs-$arch.tar.gz missing" >&2; exit 2; }

shopt -s nullglob
tests=("$tools_dir"/validation/*/*.t)
shopt -u nullglob
[ ${#tests[@]} -gt 0 ] || {
	echo "no validation/*/*.t in $tools_dir; run 'make validation-executables' there" >&2; exit 2; }

if [ $# -ge 3 ]; then
	outdir=$3
	mkdir -p "$outdir" || exit 2
else
	outdir=$(mktemp -d "${TMPDIR:-/tmp}/oci-conformance.$rt_name.XXXXXX") || exit 2
fi
outdir=$(cd "$outdir" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/oci-conformance-scratch.XXXXXX") || exit 2
trap 'rm -rf --one-file-system "$scratch"' EXIT

# Hybrid cgroup hosts (v1 controllers under a tmpfs /sys/fs/cgroup plus a
# cgroup2 mount at /sys/fs/cgroup/unified that owns some controller, e.g.
# hugetlb here) make crun refuse every container: "cgroups in hybrid mode not
# supported, drop all controllers from cgroupv2". In that case (or when
# HIDE_UNIFIED=1) /sys/fs/cgroup/unified is unmounted inside each test's
# private mount namespace only, so runtimes see a plain cgroup v1 layout. The
# host is not changed. HIDE_UNIFIED=0 disables this.
hide_unified=${HIDE_UNIFIED:-auto}
if [ "$hide_unified" = auto ]; then
	hide_unified=0
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
	   [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
	   [ -n "$(tr -d '[:space:]' </sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
		hide_unified=1
	fi
fi

list_containers() {
	timeout 10 "$runtime_bin" list -q 2>/dev/null | sort
}

summary=$outdir/summary.txt
: >"$summary"
{
	echo "# runtime: $runtime_bin ($("$runtime_bin" --version 2>/dev/null | head -n1))"
	echo "# runtime-tools: $tools_dir ($(git -C "$tools_dir" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	echo "# kernel: $(uname -r); cgroup fs: $(stat -fc %T /sys/fs/cgroup 2>/dev/null); timeout: ${timeout_s}s; hide /sys/fs/cgroup/unified: $hide_unified"
	echo "# started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} | tee -a "$summary"

passes=0
skips=0
fails=0
timeouts=0
total=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .t)
	tap=$outdir/$name.tap
	err=$outdir/$name.stderr
	tmp=$scratch/$name
	mkdir -p "$tmp"

	before=$(list_containers)
	start=$(date +%s)
	(
		cd "$tools_dir" &&
		exec env RUNTIME="$runtime_bin" TMPDIR="$tmp" HIDE_UNIFIED="$hide_unified" \
			timeout -k 5 "$timeout_s" unshare -m --propagation private \
			sh -c '[ "$HIDE_UNIFIED" = 1 ] && { umount /sys/fs/cgroup/unified || exit 99; }; unset HIDE_UNIFIED; exec "$0"' "$t"
	) </dev/null >"$tap" 2>"$err"
	rc=$?
	secs=$(( $(date +%s) - start ))

	# Remove containers this file left behind.
	after=$(list_containers)
	for c in $(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after")); do
		timeout 10 "$runtime_bin" delete --force "$c" >/dev/null 2>&1 ||
			timeout 10 "$runtime_bin" kill "$c" KILL >/dev/null 2>&1
	done
	rm -rf --one-file-system "$tmp" 2>/dev/null

	# Parse TAP (top level only; YAML blocks and diagnostics are indented / '#').
	n_ok=$(grep -Eci '^ok\b' "$tap")
	n_skip=$(grep -Eci '^(not )?ok\b[^#]*#[[:space:]]*skip' "$tap")
	n_todo=$(grep -Eci '^not ok\b[^#]*#[[:space:]]*todo' "$tap")
	n_notok=$(( $(grep -Eci '^not ok\b' "$tap") - n_todo ))
	points=$(( $(grep -Eci '^(not )?ok\b' "$tap") ))
	n_ok=$(( n_ok - $(grep -Eci '^ok\b[^#]*#[[:space:]]*skip' "$tap") ))
	plan=$(grep -Eo '^1\.\.[0-9]+' "$tap" | head -n1)
	plan_n=${plan#1..}

	# Files with no test points that still print an "error" diagnostic: the
	# lifecycle/hook tests (hooks, prestart, poststart, ...) report a failed
	# check only as a YAML diagnostic followed by "1..0".
	diag_err=0
	if [ "$points" -eq 0 ] && grep -Eq '^[[:space:]]+"error":' "$tap"; then
		diag_err=1
	fi

	note=""
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		verdict=TIMEOUT
	elif [ "$rc" -ne 0 ]; then
		verdict=FAIL; note=" exit=$rc"
	elif [ "$n_notok" -gt 0 ]; then
		verdict=FAIL
	elif [ "$points" -eq 0 ] && [ "$diag_err" -eq 1 ]; then
		verdict=FAIL; note=" no-tests error-diagnostic"
	elif [ "$points" -eq 0 ]; then
		verdict=SKIP
		if [ -s "$tap" ]; then note=" no-tests"; else note=" no-tests no-tap"; fi
	elif [ -z "$plan" ]; then
		verdict=FAIL; note=" no-plan"
	elif [ "$plan_n" -ne "$points" ]; then
		verdict=FAIL; note=" plan=$plan_n/points=$points"
	else
		verdict=PASS
	fi
	[ "$n_todo" -gt 0 ] && note="$note todo=$n_todo"
	[ "$verdict" = PASS ] && passes=$((passes + 1))
	[ "$verdict" = SKIP ] && skips=$((skips + 1))
	[ "$verdict" = FAIL ] && fails=$((fails + 1))
	[ "$verdict" = TIMEOUT ] && timeouts=$((timeouts + 1))
	total=$((total + 1))
	printf '%-7s %s (ok %d / not ok %d / skip %d)%s [%ss]\n' \
		"$verdict" "$name" "$n_ok" "$n_notok" "$n_skip" "$note" "$secs" | tee -a "$summary"
done

echo "# PASS $passes / SKIP $skips / FAIL $fails / TIMEOUT $timeouts" | tee -a "$summary"
echo "clean passes: $passes of $total files" | tee -a "$summary"
echo "# TAP output in $outdir" >&2
exit 0
