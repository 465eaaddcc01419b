#!/usr/bin/env bash
# Installs what the shell/ tests need on Debian bookworm: OpenSSH's sshd (the tests start their own on a loopback
# port; the system service is kept from starting and stopped if it runs), ssh-keygen, e2fsprogs (mke2fs -d,
# debugfs, tune2fs, dumpe2fs, e2fsck on image files), util-linux (mount, losetup, blkid) and procps (ps).
# Idempotent, non-interactive, run as root from anywhere.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "shell-lab: run as root" >&2
  exit 1
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
install_missing_packages openssh-server openssh-client e2fsprogs util-linux mount procps

# No system sshd listening on port 22 (from an earlier install, or a package that started one anyway).
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
fi
service ssh stop >/dev/null 2>&1 || true

# sshd wants its privilege separation directory; the tests create it too.
mkdir -p /run/sshd
chmod 755 /run/sshd

for tool in /usr/sbin/sshd ssh-keygen mke2fs debugfs tune2fs dumpe2fs e2fsck mount losetup ps; do
  command -v "$tool" >/dev/null || { echo "shell-lab: $tool missing after install" >&2; exit 1; }
done
echo "shell-lab: sshd ($(/usr/sbin/sshd -V 2>&1 | head -1 | cut -d, -f1)), e2fsprogs $(dpkg-query -W -f='${Version}' e2fsprogs), mount and ps are installed"
