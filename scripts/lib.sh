# Shared by scripts/test, scripts/demo and scripts/bench: installs the Python
# tools the project uses into .venv and runs one moto server for the session.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
LOCAL="$ROOT/.local"
# 5.2.2 and later answer CompleteMultipartUpload with S3's root element
# (CompleteMultipartUploadResult); 5.2.1 did not, and the Rust SDK refused it
# (https://github.com/getmoto/moto/issues/10055).
MOTO_VERSION=5.2.2
CFN_LINT_VERSION=1.51.0

# Installs moto (S3, SES, Secrets Manager emulator) and cfn-lint, pinned.
ensure_python_tools() {
  mkdir -p "$LOCAL"
  local stamp="$VENV/.rollcall-$MOTO_VERSION-$CFN_LINT_VERSION"
  if [ ! -f "$stamp" ]; then
    echo "==> installing moto $MOTO_VERSION and cfn-lint $CFN_LINT_VERSION into .venv"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
    touch "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts moto on a free loopback port, exports ROLLCALL_MOTO_URL, and stops
# it when the calling script exits.
start_moto() {
  local port
  port=$(free_port)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOCAL/moto.log" 2>&1 &
  MOTO_PID=$!
  trap stop_moto EXIT
  export ROLLCALL_MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$ROLLCALL_MOTO_URL/moto-api/data.json', timeout=1)" 2>/dev/null; then
      echo "==> moto listening on $ROLLCALL_MOTO_URL"
      return 0
    fi
    sleep 0.2
  done
  echo "moto did not start; see $LOCAL/moto.log" >&2
  exit 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=
  fi
}
