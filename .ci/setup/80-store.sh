# Store: crates/silkgate-store/tests/durable.rs watches, with strace, that a local blob's data
# and its final directory are fsynced before `promote` returns. Sourced by .ci/run.
if ! command -v strace >/dev/null 2>&1; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq strace >/dev/null
fi
# strace needs ptrace; a machine that forbids it says so loudly here, and the test says NOT RUN.
if strace -f -qq -e trace=none true >/dev/null 2>&1; then
  export SILKGATE_STRACE_TESTS=1
else
  echo "WARNING: strace cannot trace on this machine (ptrace refused): the blob fsync test will not run" >&2
fi
