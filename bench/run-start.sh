#!/bin/sh
# Start-to-exit of /bin/true in the same busybox bundle under palisade, crun, runc and
# bubblewrap, measured in one hyperfine run (issue 3, item 4):
#   (a) base: no network namespace, no seccomp profile (palisade: an allow-all filter, as it
#       always installs one);
#   (b) netns: (a) plus a network namespace;
#   (c) docker: (b) plus Docker's default seccomp profile (palisade's docker-default policy;
#       the runtimes get the same profile from `palisade policy compile --emit oci`, bwrap
#       the same program from `--emit seccomp-bpf`).
# palisade runs each case twice: `palisade run` with the matching policy, and `palisade oci
# run` on the very bundle crun and runc run (the drop-in comparison).
# Needs root and the Debian packages hyperfine, crun, runc, bubblewrap, busybox-static, jq.
# crun 1.8.1 refuses this machine's hybrid cgroups, so everything runs inside one
# `unshare -m` with /sys/fs/cgroup/unified lazily unmounted there (the host is untouched).
#
# Commands run without a shell (hyperfine -N), except bwrap's docker case: bwrap reads the
# filter from a descriptor, which takes one `sh -c 'exec …'` (about 0.5 ms) to open.
#
# Usage: bench/run-start.sh [RUNS]   (PALISADE=path to use a given binary)
# Writes bench/results/run-start-<date>.{md,json} and prints the ratio table.
set -eu

runs=${1:-100}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
for tool in hyperfine crun runc bwrap jq busybox unshare; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install hyperfine crun runc bubblewrap jq busybox-static util-linux" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }

if [ -z "${PALISADE:-}" ]; then
    (cd "$repo" && cargo build --release --quiet --bin palisade)
    PALISADE=$repo/target/release/palisade
fi

work=$(mktemp -d /tmp/palisade-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/dev" "$bundle/rootfs/tmp" "$bundle/rootfs/etc"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
ln -s busybox "$bundle/rootfs/bin/sh"

# OCI configs: runc's default spec, running /bin/true, without and with a network
# namespace, and with Docker's seccomp profile.
(cd "$bundle" && runc spec)
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$bundle/config.json" > "$work/netns.json"
jq '.linux.namespaces |= map(select(.type != "network"))' "$work/netns.json" > "$work/base.json"
"$PALISADE" policy compile docker-default --emit oci > "$work/docker-oci.json"
jq --slurpfile d "$work/docker-oci.json" '.linux.seccomp = $d[0].linux.seccomp' "$work/netns.json" > "$work/docker.json"
for case in base netns docker; do
    mkdir -p "$work/$case"
    # The three bundles share one rootfs: root.path points at it.
    jq --arg r "$bundle/rootfs" '.root.path = $r' "$work/$case.json" > "$work/$case/config.json"
done
"$PALISADE" policy compile docker-default --emit seccomp-bpf > "$work/docker.bpf"

# palisade policies for the three cases.
cat > "$work/base.toml" <<'TOML'
[policy]
name = "bench-base"
description = "benchmark (a): no syscall filtering beyond an allow-all program, host network"
[seccomp]
default_action = "allow"
[network]
mode = "host"
TOML
sed -e 's/mode = "host"/mode = "none"/' -e 's/bench-base/bench-netns/' "$work/base.toml" > "$work/netns.toml"
printf '[policy]\nname = "bench-docker"\nextends = "docker-default"\n[network]\nmode = "none"\n' > "$work/docker.toml"

root=$bundle/rootfs
state=$work/state
set -- \
    -n "palisade base"  "$PALISADE run --policy $work/base.toml --rootfs $root -- /bin/true" \
    -n "palisade-oci base" "$PALISADE oci --root $state/palisade run -b $work/base p-base" \
    -n "crun base"      "crun --root $state/crun run -b $work/base c-base" \
    -n "runc base"      "runc --root $state/runc run -b $work/base r-base" \
    -n "bwrap base"     "bwrap --bind $root / --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts /bin/true" \
    -n "palisade netns" "$PALISADE run --policy $work/netns.toml --rootfs $root -- /bin/true" \
    -n "palisade-oci netns" "$PALISADE oci --root $state/palisade run -b $work/netns p-netns" \
    -n "crun netns"     "crun --root $state/crun run -b $work/netns c-netns" \
    -n "runc netns"     "runc --root $state/runc run -b $work/netns r-netns" \
    -n "bwrap netns"    "bwrap --bind $root / --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --unshare-net /bin/true" \
    -n "palisade docker" "$PALISADE run --policy $work/docker.toml --rootfs $root -- /bin/true" \
    -n "palisade-oci docker" "$PALISADE oci --root $state/palisade run -b $work/docker p-docker" \
    -n "crun docker"    "crun --root $state/crun run -b $work/docker c-docker" \
    -n "runc docker"    "runc --root $state/runc run -b $work/docker r-docker" \
    -n "bwrap docker"   "sh -c 'exec bwrap --bind $root / --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --unshare-net --seccomp 3 /bin/true 3<$work/docker.bpf'"

mkdir -p "$here/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$here/results/run-start-$stamp
unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified && exec "$@"' sh \
    hyperfine -N --warmup 10 --runs "$runs" --export-json "$out.json" --export-markdown "$out.md" "$@"

# Ratios against crun, from the same run.
jq -r '
  [.results[] | {name: .command, mean: (.mean * 1000)}] as $r
  | def m(n): ($r[] | select(.name == n) | .mean);
  "| case | palisade run ms | palisade oci run ms | crun ms | runc ms | bwrap ms | palisade / crun | palisade oci / crun |",
  "|---|---|---|---|---|---|---|---|",
  (["base", "netns", "docker"][] as $c
   | "| \($c) | \(m("palisade " + $c) * 100 | round / 100) | \(m("palisade-oci " + $c) * 100 | round / 100) | \(m("crun " + $c) * 100 | round / 100) | \(m("runc " + $c) * 100 | round / 100) | \(m("bwrap " + $c) * 100 | round / 100) | \(m("palisade " + $c) / m("crun " + $c) * 100 | round / 100) | \(m("palisade-oci " + $c) / m("crun " + $c) * 100 | round / 100) |")
' "$out.json" | tee "$out.summary.md"
