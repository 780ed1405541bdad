#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (from the llama-cpp-python 0.3.36 sdist) and a tiny random-weight
# model with its Hugging Face tokenizer, for the `ix bench` tests against a real server.
# Idempotent: every step is skipped when its output already exists.
# Layout (other tests rely on it; IX_LLAMA_DIR overrides the folder):
#   $DIR/bin/llama-server  $DIR/model/tiny.gguf  $DIR/model/tokenizer/tokenizer.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=0.3.36
dir="${IX_LLAMA_DIR:-${IX_CACHE:-$HOME/.cache/ix}/llama-$version}"
work="$dir/work"
mkdir -p "$dir/bin" "$dir/model" "$work"

say() { echo "ci/llama: $*" >&2; }

if [[ -x "$dir/bin/llama-server" && -f "$dir/model/tiny.gguf" && -f "$dir/model/tokenizer/tokenizer.json" ]]; then
  say "cached in $dir"
  exit 0
fi

if ! command -v cmake >/dev/null; then
  say "installing cmake"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq cmake >/dev/null
fi

src="$work/llama_cpp_python-$version/vendor/llama.cpp"
if [[ ! -d "$src" ]]; then
  say "downloading the llama-cpp-python $version sdist"
  python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python -d "$work/sdist" "llama-cpp-python==$version"
  tar xzf "$work/sdist/llama_cpp_python-$version.tar.gz" -C "$work"
fi

if [[ ! -x "$dir/bin/llama-server" ]]; then
  say "building llama-server (fast-compile flags; takes about 4 minutes on 2 cores)"
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" >"$work/cmake.log"
  cmake --build "$work/build" --target llama-server -j "${IX_LLAMA_JOBS:-2}" >"$work/build.log"
  cp "$work/build/bin/llama-server" "$dir/bin/llama-server.tmp"
  mv "$dir/bin/llama-server.tmp" "$dir/bin/llama-server"
fi

if [[ ! -f "$dir/model/tiny.gguf" || ! -f "$dir/model/tokenizer/tokenizer.json" ]]; then
  if [[ ! -x "$work/venv/bin/python" ]]; then
    say "creating the model-generator venv"
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet gguf numpy tokenizers transformers
  fi
  say "generating the tiny model and tokenizer"
  "$work/venv/bin/python" "$here/llama_tiny_model.py" "$src/models/ggml-vocab-gpt-2.gguf" "$dir/model"
fi
say "ready in $dir"
