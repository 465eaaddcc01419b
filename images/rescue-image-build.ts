// Builds the rescue image of a plan (build-plan.ts) and writes its kernel and initrd where machines fetch them:
// host tools checked first, then the kernel, the initramfs, and the two files, each step reported with its size
// and time. The kernel, the unpacked packages and the initramfs are cached (paths.ts), so a second build of the
// same inputs only copies the files.
import { copyFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MissingHostToolsError, findMissingHostTools, installCommand } from './host-tools.js';
import { ensureDebianKernel, kernelMetaPackage } from './kernel.js';
import { buildRescueInitramfs, rescueImagePackages } from './rescue-image.js';
import type { ImageBuildPlan } from './build-plan.js';

export interface RescueImageBuild {
  kernelPath: string;
  initrdPath: string;
  kernelBytes: number;
  initrdBytes: number;
  kernelVersion: string;
  /** e.g. linux-image-6.1.0-57-cloud-amd64 6.1.192-3 */
  kernelPackage: string;
  tools: string[];
  modules: string[];
  missingOptionalTools: string[];
  seconds: number;
}

export type ProgressReporter = (line: string) => void;

export function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Copies by rename of a temporary file, so that a machine fetching the old file never gets half of the new one. */
function publish(source: string, target: string): number {
  const temporary = `${target}.${process.pid}.tmp`;
  copyFileSync(source, temporary);
  renameSync(temporary, target);
  return statSync(target).size;
}

export async function buildRescueImage(plan: ImageBuildPlan, progress: ProgressReporter, options: { cacheDirectory?: string } = {}): Promise<RescueImageBuild> {
  const started = Date.now();
  const missing = findMissingHostTools();
  if (missing.required.length > 0) throw new MissingHostToolsError(missing.required);
  progress('[1/4] host tools: present');
  if (missing.optional.length > 0) {
    progress(`      built without ${missing.optional.map((tool) => tool.name).join(', ')} (to include them: ${installCommand(missing.optional)})`);
  }

  const metaPackage = kernelMetaPackage(plan.flavour, plan.arch);
  progress(`[2/4] kernel: ${metaPackage} (apt-get download, dpkg -x, depmod; cached after the first build)`);
  let step = Date.now();
  const kernel = await ensureDebianKernel({ metaPackage, ...(options.cacheDirectory ? { cacheDirectory: options.cacheDirectory } : {}) });
  progress(`      ${kernel.packageName} ${kernel.packageVersion}: vmlinuz ${formatSize(statSync(kernel.vmlinuzPath).size)} (${seconds(step)})`);

  progress(`[3/4] initramfs: busybox-static, dropbear, e2fsck-static and host tools, Debian packages ${rescueImagePackages(plan.extras).join(' ')}`);
  step = Date.now();
  const initramfs = await buildRescueInitramfs({
    kernel, extras: plan.extras, imageName: 'rescued-rescue', ...(options.cacheDirectory ? { cacheDirectory: options.cacheDirectory } : {}),
  });
  progress(`      ${formatSize(initramfs.sizeBytes)} gzip'd, ${initramfs.tools.length} tools, ${initramfs.modules.length} kernel modules (${seconds(step)})`);

  progress(`[4/4] writing ${plan.outputDirectory}`);
  mkdirSync(plan.outputDirectory, { recursive: true });
  const kernelPath = join(plan.outputDirectory, 'vmlinuz');
  const initrdPath = join(plan.outputDirectory, 'initrd.img');
  const kernelBytes = publish(kernel.vmlinuzPath, kernelPath);
  const initrdBytes = publish(initramfs.path, initrdPath);
  progress(`      vmlinuz ${formatSize(kernelBytes)}, initrd.img ${formatSize(initrdBytes)} (built in ${seconds(started)})`);
  return {
    kernelPath, initrdPath, kernelBytes, initrdBytes,
    kernelVersion: kernel.version,
    kernelPackage: `${kernel.packageName} ${kernel.packageVersion}`,
    tools: initramfs.tools,
    modules: initramfs.modules,
    missingOptionalTools: initramfs.missingOptionalTools,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}
