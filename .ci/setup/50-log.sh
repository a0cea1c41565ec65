# Transparency log: Go's golang.org/x/mod/sumdb/{tlog,note} verify our checkpoints and tiles,
# written by the library (crates/silkgate-log/tests/it/interop_go.rs) and served by running
# nodes with a receipt's inclusion proof (crates/silkgate/tests/it/log_node.rs). Sourced by
# .ci/run.
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null
fi
export SILKGATE_LOG_GO_INTEROP=1
