#!/usr/bin/env bash
# Installs what the TFTP tests and benchmark need on Debian bookworm: curl and tftp-hpa (clients), and
# tftpd-hpa (the server the benchmark compares ours with; the benchmark starts its own in.tftpd on a
# loopback port, so the system service is stopped and disabled). Idempotent, non-interactive, run as root.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "tftp-lab: run as root" >&2
  exit 1
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
install_missing_packages curl tftp-hpa tftpd-hpa

# The system tftpd-hpa service is not used: stop it if it runs, and keep it from starting at boot.
if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files tftpd-hpa.service >/dev/null 2>&1; then
  systemctl disable --now tftpd-hpa.service >/dev/null 2>&1 || true
fi
service tftpd-hpa stop >/dev/null 2>&1 || true

for tool in curl tftp /usr/sbin/in.tftpd; do
  command -v "$tool" >/dev/null || { echo "tftp-lab: $tool missing after install" >&2; exit 1; }
done
echo "tftp-lab: curl, tftp (tftp-hpa) and in.tftpd (tftpd-hpa) are installed"
