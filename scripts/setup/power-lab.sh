#!/usr/bin/env bash
# Installs what the power tests need on Debian bookworm: ipmitool (the IPMI driver), openipmi (ipmi_sim, the lab
# BMC), fence-agents (fence_ipmilan and the other fence_* agents), openssl (self-signed certificates for the
# HTTPS lab BMCs), python3-venv, and sushy-tools (the Redfish BMC emulator) from PyPI in .tools/venv.
# Idempotent, non-interactive, run as root from anywhere.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "power-lab: run as root" >&2
  exit 1
fi

repository=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$repository/.tools/venv"
sushy_version=2.2.0

source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
install_missing_packages ipmitool openipmi fence-agents openssl python3 python3-venv

# Debian's own python3 (not whatever python3 comes first on PATH), so that python3-venv applies.
if ! "$venv/bin/sushy-emulator" --help >/dev/null 2>&1 \
  || ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('sushy-tools') != '$sushy_version')" 2>/dev/null; then
  rm -rf "$venv"
  mkdir -p "$repository/.tools"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "sushy-tools==$sushy_version"
fi

for tool in ipmitool ipmi_sim /usr/sbin/fence_ipmilan openssl "$venv/bin/sushy-emulator"; do
  command -v "$tool" >/dev/null || { echo "power-lab: $tool missing after install" >&2; exit 1; }
done
echo "power-lab: ipmitool, ipmi_sim, fence_ipmilan, openssl and sushy-emulator $sushy_version ($venv) are installed"
