// `rescuectl image build`: builds the rescue image from Debian's packages on this machine (images/), writes its
// kernel and initrd into the server's boot files folder, and registers them as a rescue environment through the
// API (created, or updated when one of that name exists). Progress goes to stderr, the result to stdout.
import type { Command } from 'commander';
import { bootFilesRoot } from '../../config/environment.js';
import { ImageBuildOptionError, planImageBuild, type ImageBuildOptions, type ImageBuildPlan } from '../../images/build-plan.js';
import { MissingHostToolsError } from '../../images/host-tools.js';
import { KERNEL_FLAVOURS } from '../../images/kernel.js';
import { RESCUE_IMAGE_EXTRAS } from '../../images/rescue-image.js';
import { buildRescueImage, formatSize, type RescueImageBuild } from '../../images/rescue-image-build.js';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson, printReport, type Row } from '../output.js';

type Registration = NonNullable<ImageBuildPlan['registration']>;

function environmentBody(plan: ImageBuildPlan, registration: Registration, build: RescueImageBuild): Row {
  return {
    kernel: registration.kernel,
    initrd: registration.initrd,
    kernelArgs: registration.kernelArgs,
    arch: plan.arch,
    // The kernel and initrd boot the same from iPXE or GRUB under either firmware.
    firmware: ['bios', 'uefi'],
    osFamilies: registration.osFamilies,
    capabilities: ['ssh', 'phone-home'],
    comment: `rescuectl image build: ${build.kernelPackage}, ${plan.extras.length > 0 ? `with ${plan.extras.join(', ')}` : 'no extras'}`,
  };
}

/** Creates the environment, or updates the one of that name; says which. */
async function register(client: ApiClient, plan: ImageBuildPlan, registration: Registration, build: RescueImageBuild, existing: boolean): Promise<'created' | 'updated'> {
  const body = environmentBody(plan, registration, build);
  if (existing) {
    await client.request('PATCH', `/api/v1/rescue-environments/${encodeURIComponent(registration.name)}`, body);
    return 'updated';
  }
  await client.request('POST', '/api/v1/rescue-environments', { name: registration.name, ...body });
  return 'created';
}

export function registerImageCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const group = program.command('image').description('the rescue image: build it from Debian packages and register it');
  group
    .command('build')
    .description('build the rescue image (kernel, busybox, dropbear, e2fsprogs, xfsprogs, lvm2, mdadm, smartmontools, GRUB) and register it as a rescue environment')
    .option('--kernel <flavour>', `Debian kernel flavour: ${KERNEL_FLAVOURS.join(' | ')} (default cloud)`)
    .option('--arch <arch>', 'machine architecture (default x86_64, the only one supported yet)')
    .option('--register <name>', 'rescue environment to create or update (default rescued-<kernel>-<arch>)')
    .option('--no-register', 'only build and write the files')
    .option('--output <dir>', 'folder for vmlinuz and initrd.img (default <boot files folder>/rescued/<name>)')
    .option('--kernel-args <template>', 'kernel-args template of the environment (default: static ip= from the inventory when it has address, netmask and gateway, else ip=dhcp)')
    .option('--os-families <list>', 'OS families it serves (default every family but freebsd)')
    .option('--without <extras>', `leave extras out: ${RESCUE_IMAGE_EXTRAS.join(', ')}`)
    .action(async (options: ImageBuildOptions) => {
      let plan: ImageBuildPlan;
      try {
        plan = planImageBuild(options, bootFilesRoot());
      } catch (error) {
        if (error instanceof ImageBuildOptionError) throw new CliError(error.message, 2);
        throw error;
      }
      // Before a build of a minute or more: can the API be reached, and does the environment exist already?
      let client: ApiClient | undefined;
      let existing = false;
      if (plan.registration) {
        client = await connect();
        const { items } = await client.list<{ name: string }>('/api/v1/rescue-environments');
        existing = items.some((item) => item.name === plan.registration?.name);
      }
      const progress = (line: string) => process.stderr.write(`${line}\n`);
      let build: RescueImageBuild;
      try {
        build = await buildRescueImage(plan, progress);
      } catch (error) {
        if (error instanceof MissingHostToolsError) throw new CliError(error.message, 1);
        throw new CliError(`image build failed: ${error instanceof Error ? error.message : String(error)}`, 1);
      }
      let registered: 'created' | 'updated' | null = null;
      if (plan.registration && client) {
        try {
          registered = await register(client, plan, plan.registration, build, existing);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new CliError(`the image is built (${build.kernelPath}, ${build.initrdPath}) but registering rescue environment ${plan.registration.name} failed: ${reason}`, 1);
        }
      }
      const result = {
        name: plan.name,
        kernelFlavour: plan.flavour,
        arch: plan.arch,
        kernelPackage: build.kernelPackage,
        kernelVersion: build.kernelVersion,
        kernelPath: build.kernelPath,
        initrdPath: build.initrdPath,
        kernelSize: build.kernelBytes,
        initrdSize: build.initrdBytes,
        extras: plan.extras,
        missingOptionalTools: build.missingOptionalTools,
        seconds: build.seconds,
        rescueEnvironment: plan.registration ? { name: plan.registration.name, kernel: plan.registration.kernel, initrd: plan.registration.initrd, registered } : null,
      };
      if (json()) {
        printJson(result);
        return;
      }
      printReport({
        name: result.name,
        kernel: `${result.kernelPackage} (${result.kernelFlavour}, ${result.arch})`,
        vmlinuz: `${result.kernelPath} (${formatSize(result.kernelSize)})`,
        initrd: `${result.initrdPath} (${formatSize(result.initrdSize)})`,
        extras: result.extras.length > 0 ? result.extras.join(', ') : 'none',
        'built without': result.missingOptionalTools.length > 0 ? result.missingOptionalTools.join(', ') : 'nothing missing',
        'rescue environment': plan.registration ? `${plan.registration.name} (${registered}; kernel ${plan.registration.kernel}, initrd ${plan.registration.initrd})` : 'not registered (--no-register)',
      });
    });
}
