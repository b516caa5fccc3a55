#!/usr/bin/env bash
# The browser tests drive Debian's chromium. Install it where it is missing (as root, via apt);
# otherwise say how, and let the browser tests fail with that message.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium for the browser tests (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "chromium is missing: the browser tests will fail (install it: sudo apt-get install chromium)" >&2
fi
