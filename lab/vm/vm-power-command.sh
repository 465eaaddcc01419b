#!/bin/sh
# Runs lab/vm/vm-power-command.ts from any working directory (it works from the project root, so STATE_DIR is made
# absolute first). Usage: see vm-power-command.ts.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
case "${1:-}" in
  start|stop|restart|status|hook)
    if [ $# -ge 2 ]; then
      command=$1
      state=$(CDPATH= cd -- "$2" && pwd)
      shift 2
      set -- "$command" "$state" "$@"
    fi
    ;;
  *)
    if [ -n "${RESCUED_VM_STATE_DIR:-}" ]; then
      RESCUED_VM_STATE_DIR=$(CDPATH= cd -- "$RESCUED_VM_STATE_DIR" && pwd)
      export RESCUED_VM_STATE_DIR
    fi
    ;;
esac
cd "$root"
# A chassis event starts this once per power action, so startup time is time the machine stays off: plain node on
# a bundle (about 0.06 s) instead of tsx compiling the sources (0.2 to 0.3 s). The bundle is made by esbuild on
# first use and again whenever a source under lab/ is newer; if esbuild fails, tsx runs the sources.
bundle=.cache/lab-tools/vm-power-command.mjs
if [ ! -f "$bundle" ] || [ -n "$(find lab -name '*.ts' -newer "$bundle" | head -n 1)" ]; then
  mkdir -p .cache/lab-tools
  partial="$bundle.$$.partial"
  if node_modules/.bin/esbuild lab/vm/vm-power-command.ts --bundle --platform=node --format=esm --log-level=warning --outfile="$partial"; then
    mv -f "$partial" "$bundle"
  else
    rm -f "$partial"
    exec node --import tsx lab/vm/vm-power-command.ts "$@"
  fi
fi
exec node "$bundle" "$@"
