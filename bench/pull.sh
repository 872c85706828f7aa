#!/bin/sh
# Pull + unpack of a multi-layer image from a local registry: `palisade pull` (download,
# verify, unpack into shared layer dirs, record) against `skopeo copy` into an OCI layout +
# `umoci unpack` into a bundle, measured in one hyperfine run (issue 5, item 7).
#
# The image (5 gzip layers: busybox, Debian's Python stdlib, C headers, gcc's plugin headers,
# some locale files and the zoneinfo database) is built with umoci from this machine's own
# files and pushed with skopeo to Debian's docker-registry on a free loopback port.
# Each run starts from an empty store / layout / bundle (cleared in hyperfine's --prepare,
# not timed). Needs root and the Debian packages hyperfine, docker-registry, skopeo, umoci,
# busybox-static, python3, gcc.
#
# Usage: bench/pull.sh [RUNS]   (PALISADE=path to use a given binary)
# Writes bench/results/pull-<date>.{md,json} and prints the ratio table.
set -eu

runs=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
for tool in hyperfine docker-registry skopeo umoci busybox python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install hyperfine docker-registry skopeo umoci busybox-static python3" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (umoci unpack and palisade's chown need it)" >&2; exit 2; }
if [ -z "${PALISADE:-}" ]; then
    (cd "$repo" && cargo build --release --quiet --bin palisade)
    PALISADE=$repo/target/release/palisade
fi

work=$(mktemp -d /var/tmp/palisade-bench-pull.XXXXXX)
registry_pid=
cleanup() {
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# 1. The image: one layer per umoci repack.
cd "$work"
umoci init --layout oci >/dev/null
umoci new --image oci:bench >/dev/null
umoci unpack --image oci:bench b >/dev/null
add_layer() { # SRC... : copy into the rootfs, repack as a new layer
    for src in "$@"; do
        [ -e "$src" ] || continue
        mkdir -p "b/rootfs$(dirname "$src")"
        cp -a "$src" "b/rootfs$src"
    done
    umoci repack --refresh-bundle --image oci:bench b >/dev/null
}
mkdir -p b/rootfs/bin && cp /bin/busybox b/rootfs/bin/busybox && ln -s busybox b/rootfs/bin/sh
umoci repack --refresh-bundle --image oci:bench b >/dev/null
add_layer /usr/lib/python3.*  # Debian's stdlib (not a pyenv one: the image must not vary)
add_layer /usr/include
add_layer /usr/lib/gcc
add_layer /usr/share/locale/de /usr/share/locale/fr /usr/share/locale/es /usr/share/zoneinfo
layers=$(umoci stat --image oci:bench --json | python3 -c 'import json,sys; print(sum(1 for h in json.load(sys.stdin)["history"] if not h.get("empty_layer")))')
size=$(du -sh b/rootfs | cut -f1)
files=$(find b/rootfs | wc -l)

# 2. The registry, on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > registry.yml <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve registry.yml >registry.log 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null && break
    sleep 0.1
done
skopeo copy --quiet --dest-tls-verify=false oci:oci:bench "docker://127.0.0.1:$port/bench:latest"
ref=127.0.0.1:$port/bench:latest

# 3. The measurement.
mkdir -p "$here/results"
stamp=$(date +%Y%m%d-%H%M%S)
echo "image: $layers layers, $size unpacked, $files files; $runs runs each"
hyperfine --runs "$runs" --warmup 1 \
    --export-markdown "$here/results/pull-$stamp.md" --export-json "$here/results/pull-$stamp.json" \
    --prepare "rm -rf $work/store" \
    -n "palisade pull (+unpack)" "$PALISADE pull -q --root $work/store $ref" \
    --prepare "rm -rf $work/layout $work/bundle" \
    -n "skopeo copy + umoci unpack" "skopeo copy --quiet --src-tls-verify=false docker://$ref oci:$work/layout:bench && umoci unpack --image $work/layout:bench $work/bundle >/dev/null"
cat "$here/results/pull-$stamp.md"
