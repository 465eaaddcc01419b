// The lab's machines in rescued's inventory, through the API as an operator would (rescuectl's client): a
// distro and profile for them, the lab rescue image as a rescue environment, a "silent" environment whose image
// never calls back (the no-phone-home fault pins it), and one system per machine with its MAC, its BMC
// (ipmitool lanplus on 127.0.0.1) and the SSH check that says its installed OS is up.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '../../cli/api-client.js';
import { ensureLabBootImages } from '../vm/initramfs.js';
import type { LabMachineState } from './lab-state.js';
import { LAB_KERNEL_ARGUMENTS } from './installed-os.js';

export const LAB_PROFILE = 'lab';
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

export async function registerLabInventory(api: ApiClient): Promise<void> {
  await put(api, 'distros', { name: 'lab-debian', kernel: BOOT_FILES.kernel, initrd: BOOT_FILES.rescue, arch: 'x86_64', breed: 'debian', osVersion: '12', comment: 'the virtual lab (npm run lab)' });
  await put(api, 'profiles', { name: LAB_PROFILE, distro: 'lab-debian', rescuePolicy: 'repair' });
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
    profile: LAB_PROFILE,
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
