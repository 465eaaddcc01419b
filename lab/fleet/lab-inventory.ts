// The lab's machines in rescued's inventory, through the API as an operator would (rescuectl's client): a
// distro and profile for them, the lab rescue image as a rescue environment, a "silent" environment whose image
// never calls back (the no-phone-home fault pins it), and one system per machine with its MAC, its BMC
// (ipmitool lanplus on 127.0.0.1) and the SSH check that says its installed OS is up. The profile of each firmware
// installs the lab's OS image through the lab installer (its distro boots the installer, its autoinstall template
// names the image and the install-status callbacks): what a reinstall puts back. The install a machine's disk
// came from is recorded through the same install-status callbacks, so that its history has a profile to reinstall.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '../../cli/api-client.js';
import { ensureLabBootImages } from '../vm/initramfs.js';
import { labInstallerTemplate, type PublishedInstaller } from '../vm/installer.js';
import type { LabMachineState } from './lab-state.js';
import { installerKernelOptions, LAB_KERNEL_ARGUMENTS, publishInstalledOsInstaller, type LabFirmware } from './installed-os.js';

export const LAB_PROFILE = 'lab';
export const LAB_UEFI_PROFILE = 'lab-uefi';

/** The profile (and its distro and template) a lab machine of this firmware runs. */
export function labProfileFor(firmware: LabFirmware): string {
  return firmware === 'uefi' ? LAB_UEFI_PROFILE : LAB_PROFILE;
}
export const LAB_RESCUE_ENVIRONMENT = 'lab-rescue';
/** Boots the marker image: it prints a line and powers off, and never phones home. */
export const LAB_SILENT_RESCUE_ENVIRONMENT = 'lab-silent';

/** Boot files the inventory names, relative to rescued's TFTP root (served over TFTP and HTTP /boot/files/). */
const BOOT_FILES = { kernel: 'lab/vmlinuz', rescue: 'lab/rescue.cpio.gz', silent: 'lab/silent.cpio.gz' } as const;

/** Copies the lab's kernel and images into rescued's TFTP root. */
export async function installLabBootFiles(tftpRoot: string): Promise<void> {
  const images = await ensureLabBootImages();
  mkdirSync(join(tftpRoot, 'lab'), { recursive: true });
  copyFileSync(images.kernel.vmlinuzPath, join(tftpRoot, BOOT_FILES.kernel));
  copyFileSync(images.rescue.path, join(tftpRoot, BOOT_FILES.rescue));
  copyFileSync(images.marker.path, join(tftpRoot, BOOT_FILES.silent));
}

async function exists(api: ApiClient, path: string): Promise<boolean> {
  try {
    await api.request('GET', path);
    return true;
  } catch {
    return false;
  }
}

/** Creates the object, or updates it when it is there from an earlier `up`. */
async function put(api: ApiClient, collection: string, body: { name: string } & Record<string, unknown>): Promise<void> {
  const path = `/api/v1/${collection}/${encodeURIComponent(body.name)}`;
  if (await exists(api, path)) {
    const { name: _name, ...changes } = body;
    await api.request('PATCH', path, changes);
  } else {
    await api.request('POST', `/api/v1/${collection}`, body);
  }
}

/** The OS image and the installer for each firmware, into the TFTP root (lab/ for BIOS, lab-uefi/ for UEFI). */
export async function installLabInstallers(tftpRoot: string, workDirectory: string, firmwares: readonly LabFirmware[]): Promise<Map<LabFirmware, PublishedInstaller>> {
  const installers = new Map<LabFirmware, PublishedInstaller>();
  for (const firmware of new Set(firmwares)) installers.set(firmware, await publishInstalledOsInstaller(tftpRoot, firmware, workDirectory, labProfileFor(firmware)));
  return installers;
}

export async function registerLabInventory(api: ApiClient, installers: ReadonlyMap<LabFirmware, PublishedInstaller>): Promise<void> {
  for (const [firmware, installer] of installers) {
    const name = labProfileFor(firmware);
    await put(api, 'distros', { name, kernel: installer.kernel, initrd: installer.initrd, arch: 'x86_64', breed: 'debian', osVersion: '12', kernelOptions: installerKernelOptions(firmware), comment: `the virtual lab's installer (${firmware}; npm run lab)` });
    await put(api, 'templates', { name, kind: 'script', body: labInstallerTemplate(`{{ server.http }}/boot/files/${installer.osImage}`) });
    await put(api, 'profiles', { name, distro: name, autoinstall: name, rescuePolicy: 'repair' });
  }
  await put(api, 'rescue-environments', { name: LAB_RESCUE_ENVIRONMENT, kernel: BOOT_FILES.kernel, initrd: BOOT_FILES.rescue, arch: 'x86_64', osFamilies: ['debian'], kernelArgs: `console=ttyS0 ${LAB_KERNEL_ARGUMENTS}`, comment: 'the lab rescue image (lab/images/rescue)' });
  await put(api, 'rescue-environments', {
    name: LAB_SILENT_RESCUE_ENVIRONMENT,
    kernel: BOOT_FILES.kernel,
    initrd: BOOT_FILES.silent,
    arch: 'x86_64',
    osFamilies: ['generic'],
    kernelArgs: `console=ttyS0 ${LAB_KERNEL_ARGUMENTS} rescued.marker=this-image-never-phones-home`,
    comment: 'the lab fault no-phone-home: an image that boots and never calls back',
  });
}

/**
 * ipmi_sim applies a cycle's off and on before it answers (chassis-control runs synchronously), so a quarter of a
 * second of reading "on" after it is proof enough; real BMCs keep the 5 s default.
 */
export async function registerLabMachine(api: ApiClient, machine: LabMachineState): Promise<void> {
  await put(api, 'systems', {
    name: machine.name,
    profile: labProfileFor(machine.firmware),
    firmware: machine.firmware,
    osFamily: 'debian',
    osVersion: '12',
    interfaces: [{ name: 'eth0', mac: machine.mac }],
    // The VM's port 22 is forwarded to this 127.0.0.1 port: the rescue's SSH goes there, and so does the check.
    labels: { 'rescued.ssh-endpoint': `127.0.0.1:${machine.sshHostPort}`, 'rescued.verify': `ssh:127.0.0.1:${machine.sshHostPort}`, 'rescued.lab': 'true' },
    rescueEnvironment: null,
    power: [{ type: 'ipmi', address: '127.0.0.1', port: machine.bmc.port, user: machine.bmc.username, password: machine.bmc.password, options: { retries: '0', readback_timeout: '30', cycle_settle: '0.25' } }],
    comment: `lab VM, state in ${machine.vmDirectory}`,
  });
}

/** The no-phone-home fault: the machine's rescue boot config points at the silent image. */
export async function pinSilentRescueImage(api: ApiClient, system: string): Promise<void> {
  await api.request('PATCH', `/api/v1/systems/${encodeURIComponent(system)}`, { rescueEnvironment: LAB_SILENT_RESCUE_ENVIRONMENT });
}

/** A machine's boot route, as the machine calls it (no token); the body as text. */
async function machineFetch(server: string, pathAndQuery: string): Promise<string> {
  const response = await fetch(`${server}${pathAndQuery}`, { signal: AbortSignal.timeout(30_000) });
  const body = await response.text();
  if (!response.ok) throw new Error(`${pathAndQuery.replace(/token=[^&]*/, 'token=***')}: HTTP ${response.status}: ${body.slice(0, 300)}`);
  return body;
}

/**
 * Records the install the machine's disk came from, through the real install path: netboot on (an install
 * expected: its autoinstall file carries a token), the rendered autoinstall file fetched as the machine would, its
 * started and finished callbacks called; netboot off again. The history then holds a finished install of the
 * machine's profile: the "previous profile" a reinstall puts back.
 */
export async function recordLabInstall(api: ApiClient, system: string): Promise<void> {
  const path = `/api/v1/systems/${encodeURIComponent(system)}`;
  await api.request('PATCH', path, { netbootEnabled: true });
  try {
    const rendered = await machineFetch(api.server, `/boot/autoinstall/${encodeURIComponent(system)}`);
    const callback = (key: 'started' | 'finished') => {
      const line = rendered.split('\n').find((l) => l.startsWith(`${key}=`));
      if (!line) throw new Error(`${system}'s autoinstall file has no ${key}= line: ${rendered.slice(0, 300)}`);
      const url = new URL(line.slice(key.length + 1).trim());
      return `${url.pathname}${url.search}`;
    };
    await machineFetch(api.server, callback('started'));
    await machineFetch(api.server, callback('finished'));
  } finally {
    await api.request('PATCH', path, { netbootEnabled: false });
  }
}
