# Sourced by the scripts: makes sure uv exists and the workspace is installed in .venv.
#
# llama-cpp-python has no wheel on PyPI and takes about 7 minutes to compile on 2 cores. uv gives
# every fresh download of an sdist a new cache revision and rebuilds it, so we keep our own wheel:
# built once per machine into $OGX_WHEEL_CACHE (default ~/.cache/ogx/wheels), then installed after
# `uv sync`, which is told to leave that package alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! python3 -m uv --version >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
uv() { python3 -m uv "$@"; }
export UV_COMPILE_BYTECODE=1  # start-up reads bytecode even where PYTHONDONTWRITEBYTECODE is set

llama_version=$(python3 -c 'import tomllib; print(next(p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "llama-cpp-python"))')
wheels="${OGX_WHEEL_CACHE:-$HOME/.cache/ogx/wheels}"
llama_wheel=$(ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$llama_wheel" ]; then
  echo "building llama-cpp-python $llama_version once for this machine (about 7 minutes on 2 cores)..." >&2
  mkdir -p "$wheels"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    python3 -m pip wheel --quiet --disable-pip-version-check --no-deps "llama-cpp-python==$llama_version" -w "$wheels"
  llama_wheel=$(ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl | head -n 1)
fi
# Offline first: a machine that has everything needs no network (and answers faster).
uv sync --all-packages --locked --no-install-package llama-cpp-python --quiet --offline 2>/dev/null ||
  uv sync --all-packages --locked --no-install-package llama-cpp-python --quiet
uv pip install --quiet --offline --python .venv/bin/python --no-deps "$llama_wheel"
