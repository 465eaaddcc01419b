// `rescuectl image build`'s options, checked and turned into a plan before anything is downloaded: which kernel
// flavour and architecture, where the kernel and initrd are written, and the rescue environment they are registered
// as (its name, its kernel and initrd as paths in the boot files folder, its kernel-args template).
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ARCHITECTURES, BREEDS, OBJECT_NAME_PATTERN } from '../inventory/schemas.js';
import { IMAGE_ARCHITECTURES, KERNEL_FLAVOURS, type ImageArchitecture, type KernelFlavour } from './kernel.js';
import { RESCUE_IMAGE_EXTRAS, type RescueImageExtra } from './rescue-image.js';

export class ImageBuildOptionError extends Error {
  override readonly name = 'ImageBuildOptionError';
}

export interface ImageBuildOptions {
  kernel?: string | undefined;
  arch?: string | undefined;
  /** A name, or false for --no-register. */
  register?: string | false | undefined;
  output?: string | undefined;
  kernelArgs?: string | undefined;
  osFamilies?: string | undefined;
  /** Comma-separated extras to leave out (smartmontools, grub-bios, grub-efi). */
  without?: string | undefined;
}

export interface ImageBuildPlan {
  flavour: KernelFlavour;
  arch: ImageArchitecture;
  name: string;
  extras: RescueImageExtra[];
  outputDirectory: string;
  /** Null with --no-register. */
  registration: {
    name: string;
    /** Paths in the boot files folder, as the inventory stores them. */
    kernel: string;
    initrd: string;
    kernelArgs: string;
    osFamilies: string[];
  } | null;
}

/**
 * The default kernel-args template of the image: a static address when the machine's first interface has an
 * address, netmask and gateway in the inventory (the kernel's `ip=` format, which the image's init reads), DHCP
 * otherwise. The server adds the contract's own arguments (callback, token, SSH key, BOOTIF, console).
 */
export const DEFAULT_RESCUE_KERNEL_ARGS =
  '{% assign nic = system.interfaces[0] %}{% if nic.ip and nic.netmask and nic.gateway %}ip={{ nic.ip }}::{{ nic.gateway }}:{{ nic.netmask }}:{{ system.name }}::off{% else %}ip=dhcp{% endif %}';

/** Every OS family whose file systems the image's tools repair (not freebsd: no UFS/ZFS tools). */
const DEFAULT_OS_FAMILIES = BREEDS.filter((breed) => breed !== 'freebsd');

function isInside(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot !== '' && !fromRoot.startsWith('..') && !isAbsolute(fromRoot);
}

/** Checks the options; `bootFilesRoot` is the folder TFTP and /boot/files/ serve (config's bootFilesRoot()). */
export function planImageBuild(options: ImageBuildOptions, bootFilesRoot: string): ImageBuildPlan {
  const flavourText = options.kernel ?? 'cloud';
  if (!(KERNEL_FLAVOURS as readonly string[]).includes(flavourText)) {
    throw new ImageBuildOptionError(`--kernel: "${flavourText}" is not a kernel flavour (${KERNEL_FLAVOURS.join(' or ')})`);
  }
  const flavour = flavourText as KernelFlavour;

  const archText = options.arch ?? 'x86_64';
  if (!Object.hasOwn(IMAGE_ARCHITECTURES, archText)) {
    const supported = Object.keys(IMAGE_ARCHITECTURES).join(', ');
    throw new ImageBuildOptionError(
      (ARCHITECTURES as readonly string[]).includes(archText)
        ? `--arch: ${archText} is not supported yet: the image is built from Debian's packages for ${supported} only`
        : `--arch: "${archText}" is not an architecture (supported: ${supported})`,
    );
  }
  const arch = archText as ImageArchitecture;

  const without = (options.without ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  for (const item of without) {
    if (!(RESCUE_IMAGE_EXTRAS as readonly string[]).includes(item)) {
      throw new ImageBuildOptionError(`--without: "${item}" is not an extra of the image (${RESCUE_IMAGE_EXTRAS.join(', ')})`);
    }
  }
  const extras = RESCUE_IMAGE_EXTRAS.filter((extra) => !without.includes(extra));

  const name = typeof options.register === 'string' ? options.register : `rescued-${flavour}-${arch}`;
  if (!OBJECT_NAME_PATTERN.test(name)) {
    throw new ImageBuildOptionError(`--register: "${name}" is not a name (a letter or digit first, then letters, digits and _ . : + -, at most 128)`);
  }

  const root = resolve(bootFilesRoot);
  const outputDirectory = options.output !== undefined ? resolve(options.output) : join(root, 'rescued', name);
  if (options.output !== undefined && options.output.trim() === '') throw new ImageBuildOptionError('--output: give a folder');

  if (options.register === false) return { flavour, arch, name, extras, outputDirectory, registration: null };

  if (!isInside(root, outputDirectory)) {
    throw new ImageBuildOptionError(
      `--output ${outputDirectory} is outside the boot files folder ${root} (RESCUED_TFTP_ROOT, else <RESCUED_DATA_DIR>/tftpboot), ` +
        'so machines could not fetch it over TFTP or HTTP: write into that folder, or add --no-register and register it yourself with `rescuectl rescue-env add`',
    );
  }
  const osFamilies = options.osFamilies === undefined ? [...DEFAULT_OS_FAMILIES] : options.osFamilies.split(/[\s,]+/).filter(Boolean);
  for (const family of osFamilies) {
    if (!(BREEDS as readonly string[]).includes(family)) throw new ImageBuildOptionError(`--os-families: "${family}" is not an OS family (${BREEDS.join(', ')})`);
  }
  if (osFamilies.length === 0) throw new ImageBuildOptionError('--os-families: give at least one');
  const bootPath = (file: string) => relative(root, join(outputDirectory, file)).split(sep).join('/');
  return {
    flavour, arch, name, extras, outputDirectory,
    registration: {
      name,
      kernel: bootPath('vmlinuz'),
      initrd: bootPath('initrd.img'),
      kernelArgs: options.kernelArgs ?? DEFAULT_RESCUE_KERNEL_ARGS,
      osFamilies,
    },
  };
}
