#!/bin/sh
# Runs lab/vm/vm-power-command.ts from any working directory (node resolves `--import tsx` from the working directory,
# so this changes to the project root first, after making STATE_DIR absolute). Usage: see vm-power-command.ts.
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
exec node --import tsx lab/vm/vm-power-command.ts "$@"
