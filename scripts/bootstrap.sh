# Sourced by the scripts: makes sure uv exists and the workspace is installed.
# On a fresh machine the first sync compiles llama-cpp-python from source (about 7 minutes on 2 cores);
# uv caches the wheel, so later syncs take seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! python3 -m uv --version >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
uv() { python3 -m uv "$@"; }
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
uv sync --all-packages --locked --quiet
