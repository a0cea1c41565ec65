# Web portal: browser tests in Debian's headless Chromium driven through chromedriver
# (crates/silkgate-portal/tests/it/browser.rs); CJK fonts for readable Chinese screenshots.
# Sourced by .ci/run.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
export SILKGATE_PORTAL_BROWSER=1
