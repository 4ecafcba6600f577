#!/usr/bin/env bash
# The system library the sandbox's seccomp filter is built with (libseccomp2). Debian and Ubuntu
# images have it (apt needs it); this makes sure, so the seccomp tests run instead of skipping.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then
    exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libseccomp2 >/dev/null
else
    echo "libseccomp2 is missing and cannot be installed here: the seccomp tests will be skipped" >&2
fi
