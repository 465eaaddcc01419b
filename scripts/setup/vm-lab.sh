#!/usr/bin/env bash
# The virtual lab (lab/vm): QEMU with iPXE ROMs, and the Debian packages the rescue images are built from.
# Idempotent and non-interactive; run as root on Debian bookworm. The kernel itself is not installed: images/kernel.ts
# fetches linux-image-cloud-amd64 with `apt-get download` into .cache/lab/ on first use.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  qemu-system-x86   # qemu-system-x86_64 (TCG)
  ipxe-qemu         # the virtio NIC's network boot ROM (iPXE)
  busybox-static    # the initramfs userland (sh, udhcpc, wget, mount, ...)
  dropbear-bin      # sshd and dropbearkey inside the rescue image
  e2fsck-static     # statically linked e2fsck for the rescue image
  e2fsprogs         # mke2fs -d, debugfs, tune2fs, dumpe2fs on the host (disk images)
  xfsprogs          # mkfs.xfs and xfs_db on the host (XFS disk images), xfs_repair for the rescue image
  fdisk             # sfdisk for the rescue image (copied in with its libraries)
  kmod              # depmod for the unpacked kernel modules
  util-linux        # blkid, lsblk for the rescue image
  cpio              # not needed by our own newc writer, handy to inspect images (cpio -t)
  zstd              # unpacks the initramfs that the zoo's installed Debian rebuilds (mkinitramfs compresses with zstd)
  openssh-client    # ssh, ssh-keygen for the tests
  grub-pc-bin       # GRUB for BIOS (grub-mkimage -O i386-pc, boot.img) on the lab's bootable disks
  grub-efi-amd64-bin  # GRUB for UEFI (grub-mkimage -O x86_64-efi) on the lab's bootable disks
  grub-common       # grub-mkimage
  mtools            # mcopy/mmd: files into a FAT ESP image without mounting it
  dosfstools        # mkfs.vfat -C: the ESP image
  ovmf              # UEFI firmware for QEMU (OVMF_CODE.fd, OVMF_VARS.fd)
  ca-certificates
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# kernel.ts needs a package index that knows linux-image-cloud-amd64.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi
echo "vm-lab: ready (qemu $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'))"
