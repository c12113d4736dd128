#!/usr/bin/env bash
# Creates the project's environments on a fresh machine; a no-op when they are current.
#   .venv                  runtime + test deps (python3.12, the Lambda runtime's version)
#   .venv-tools            SAM CLI, cfn-lint, moto server (they pin boto3/pydantic back)
#   .venv-scan             checkov (pins boto3 further back than SAM CLI: an environment of its own)
#   .local/lambda-runtime  awslambdaric + boto3: Lambda's /var/runtime for the local stack
#   node_modules           npm, pinned by package-lock.json: the console's Preact + htm (copied into
#                          functions/console by `make build`), axe-core, Stoplight Prism for conformance tests
# Each is rebuilt only when its requirements file changed (a hash stamp inside it).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON312:-}"
if [ -z "$PY" ]; then
  if command -v pyenv >/dev/null 2>&1 && pyenv prefix 3.12.1 >/dev/null 2>&1; then
    PY="$(pyenv prefix 3.12.1)/bin/python3.12"
  else
    PY="$(command -v python3.12 || true)"
  fi
fi
[ -x "$PY" ] || { echo "bootstrap: python3.12 not found (set PYTHON312=/path/to/python3.12)" >&2; exit 1; }

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

make_venv() {  # dir, requirements...
  local dir="$1"; shift
  local want; want="$(stamp_of "$@")"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ]; then return 0; fi
  echo "bootstrap: building $dir"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip >/dev/null
  for req in "$@"; do (cd "$(dirname "$req")" && "$OLDPWD/$dir/bin/pip" install -q -r "$(basename "$req")"); done
  echo "$want" > "$dir/.stamp"
}

make_venv .venv requirements/dev.txt requirements/cli.txt layers/telnyx_client/requirements.txt layers/core/requirements.txt
make_venv .venv-tools requirements/tools.txt
make_venv .venv-scan requirements/scan.txt

rt=.local/lambda-runtime
want="$(stamp_of requirements/lambda-runtime.txt)"
if ! { [ -f "$rt/.stamp" ] && [ "$(cat "$rt/.stamp")" = "$want" ]; }; then
  echo "bootstrap: building $rt"
  rm -rf "$rt"; mkdir -p "$rt"
  "$PY" -m pip install -q --target "$rt" -r requirements/lambda-runtime.txt
  echo "$want" > "$rt/.stamp"
fi

if [ -f package.json ]; then
  want="$(stamp_of package.json package-lock.json)"
  if ! { [ -f node_modules/.stamp ] && [ "$(cat node_modules/.stamp)" = "$want" ]; }; then
    echo "bootstrap: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.stamp
  fi
fi
