// The zoo: one disk (or two) per boot failure that fleets really have, built with the real tools, then diagnosed
// and repaired over SSH inside one QEMU machine booted into the rescue image. ext4 and XFS images are built on this
// machine with tools that only write files (mke2fs -d, debugfs -w, mkfs.xfs, xfs_db -x); whatever needs a kernel
// (an XFS log left dirty, LVM volumes, an md RAID 1) is made inside the VM over SSH, from blank disks.
// Breakages follow what the tools' manuals document: debugfs(8) clri/jo/jw/jc/ssv/sif/fallocate, xfs_db(8) write -d,
// xfs_io(8) shutdown -f (the fstests "godown" way to stop XFS as a crash would, its log left dirty), lvm(8), mdadm(8).
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './commands.js';
import { buildExt4Root, buildXfsRoot, debugfs, inodeOf, superblockField, ZOO_NEW_KERNEL, type RootOptions } from './zoo-roots.js';
import { ensureZooUserland, installZooUserland } from './zoo-installed-userland.js';
import { startRescueMachine } from './rescue-machine.js';
import { diagnose, isShellError, problems, repair, type DiagnosisReport, type Finding, type RepairReport } from '../../shell/index.js';
import type { RescueHost } from '../../shell/index.js';
import { execChecked } from '../../shell/rescue-host.js';
import { shellScript } from '../../shell/quote.js';

export type ZooVerdict = 'repaired' | 'reinstall needed' | 'not repaired' | 'missed';

export interface ZooClass {
  name: string;
  /** The finding that must name it: its id starts with this, and its summary matches `summary` when given. */
  findingPrefix: string;
  summary?: RegExp;
  /** Host-side images, in the order they are attached; a blank disk is `{ blankMiB }`. */
  disks: Array<{ build: (path: string) => Promise<void> } | { blankMiB: number }>;
  /** Work inside the VM after boot (LVM, md, a dirty XFS log); gets the guest paths of its disks and of the source disk. */
  prepare?: (host: RescueHost, devices: string[], source: string) => Promise<void>;
  /** Runs in a second rescue VM with the other such classes, not in the shared one (see runZoo). */
  ownMachine?: boolean;
  /** Which of its guest devices the diagnosis is given (default: all of them). */
  diagnosed?: (devices: string[]) => string[];
}

export interface ZooResult {
  name: string;
  /** The class's disk images on this machine (repaired in place). */
  disks?: string[];
  finding: string;
  verdict: ZooVerdict;
  seconds: number;
  detail: string;
  before?: DiagnosisReport;
  repairReport?: RepairReport;
}

function uuid(): string {
  return randomUUID();
}

/** Runs a fixed script in the VM and fails with its output when it does not exit 0. */
async function inVm(host: RescueHost, script: string, ...args: string[]): Promise<void> {
  await execChecked(host, shellScript(`set -e\n${script}`, ...args), { timeoutMs: 300_000 });
}

/**
 * An ext4 root that is a real Debian install as far as its repair tools go (initramfs-tools, grub2-common and what
 * they run, zoo-installed-userland.ts), its newest kernel the lab kernel (its vmlinuz and modules). `kernels` and
 * the rest are keyed by that version, which `options` receives.
 */
export async function buildDebianRoot(path: string, options: (kernelVersion: string) => RootOptions): Promise<void> {
  const userland = await ensureZooUserland();
  await buildExt4Root(path, {
    ...options(userland.kernelVersion),
    newKernel: { version: userland.kernelVersion, vmlinuz: readFileSync(userland.vmlinuzPath) },
    populate: (root) => installZooUserland(root, userland),
  }, 256);
}

/** The classes whose disk carries a real Debian userland: the installed system's own tools repair them in a chroot. */
export const ZOO_INSTALLED_TOOL_CLASSES = {
  initramfs: 'boot: initramfs missing, Debian userland',
  grubRoot: 'boot: grub root=UUID gone, Debian userland',
} as const;

export const ZOO_CLASSES: readonly ZooClass[] = [
  {
    name: 'ext4: corrupted superblock',
    findingPrefix: 'filesystems:errors:', summary: /superblock/,
    disks: [{ build: async (path) => {
      await buildExt4Root(path, { uuid: uuid() });
      const fd = openSync(path, 'r+');
      try { writeSync(fd, Buffer.alloc(1024), 0, 1024, 1024); } finally { closeSync(fd); }
    } }],
  },
  {
    name: 'ext4: journal needs recovery',
    findingPrefix: 'filesystems:journal-recovery:',
    disks: [{ build: async (path) => {
      await buildExt4Root(path, { uuid: uuid() });
      // A real transaction in the journal (debugfs' journal writer), left uncommitted to the file system.
      const scratch = mkdtempSync(join(tmpdir(), 'rescued-zoo-block-'));
      try {
        writeFileSync(join(scratch, 'block'), Buffer.alloc(4096, 0x33));
        await debugfs(path, ['jo', `jw -b 9000 ${join(scratch, 'block')}`, 'jc']);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    } }],
  },
  {
    name: 'ext4: orphan inodes',
    findingPrefix: 'filesystems:errors:', summary: /orphan/,
    disks: [{ build: async (path) => {
      await buildExt4Root(path, { uuid: uuid() });
      const inode = await inodeOf(path, '/var/tmp/scratch');
      await debugfs(path, ['unlink /var/tmp/scratch', `sif <${inode}> links_count 0`, `ssv last_orphan ${inode}`]);
    } }],
  },
  {
    name: 'ext4: cleared inodes',
    findingPrefix: 'filesystems:errors:', summary: /cleared|deleted/,
    disks: [{ build: async (path) => {
      await buildExt4Root(path, { uuid: uuid() });
      const inode = await inodeOf(path, '/var/log/syslog');
      await debugfs(path, [`clri <${inode}>`, 'ssv state 2']);
    } }],
  },
  {
    name: 'xfs: metadata corruption',
    findingPrefix: 'filesystems:errors:', summary: /xfs/,
    disks: [{ build: async (path) => {
      await buildXfsRoot(path);
      // Wrong free-space and inode counters with good CRCs: the verifiers pass, xfs_repair -n sees the lie.
      await runCommand('xfs_db', ['-x', '-c', 'agf 1', '-c', 'write -d freeblks 1234', '-c', 'agi 2', '-c', 'write -d count 999', path]);
    } }],
  },
  {
    name: 'xfs: dirty log',
    findingPrefix: 'filesystems:xfs-dirty-log:',
    disks: [{ build: (path) => buildXfsRoot(path) }],
    prepare: (host, [device]) => inVm(host, [
      'mp=$(mktemp -d)', 'mount -t xfs "$1" "$mp"', 'mkdir "$mp/data"; i=0; while [ $i -lt 50 ]; do echo "record $i" > "$mp/data/f$i"; i=$((i+1)); done',
      // Stop the file system as a crash would: the log is not flushed, the changes stay in it.
      // -f: the changes reach the on-disk log first, but no unmount record follows: the log needs replaying.
      'xfs_io -x -c "shutdown -f" "$mp"', 'umount "$mp"', 'rmdir "$mp"',
    ].join('\n'), device!),
  },
  {
    name: 'fstab: root by a UUID that is gone',
    findingPrefix: 'fstab:unresolved:',
    disks: [{ build: (path) => buildExt4Root(path, { uuid: uuid(), fstabUuid: uuid() }) }],
  },
  {
    name: 'boot: default kernel removed',
    findingPrefix: 'boot:default-kernel-missing:',
    disks: [{ build: (path) => buildExt4Root(path, { uuid: uuid(), kernels: { [ZOO_NEW_KERNEL]: { vmlinuz: null, initrd: null } } }) }],
  },
  {
    name: 'boot: initramfs missing',
    findingPrefix: 'boot:initramfs-missing:',
    disks: [{ build: (path) => buildExt4Root(path, { uuid: uuid(), kernels: { [ZOO_NEW_KERNEL]: { initrd: null } } }) }],
  },
  {
    name: 'boot: bad kernel update',
    findingPrefix: 'boot:default-kernel-empty:',
    disks: [{ build: (path) => buildExt4Root(path, { uuid: uuid(), kernels: { [ZOO_NEW_KERNEL]: { vmlinuz: '', initrd: '' } } }) }],
  },
  {
    name: 'boot: grub root=UUID gone',
    findingPrefix: 'boot:grub-root-missing:',
    disks: [{ build: (path) => buildExt4Root(path, { uuid: uuid(), grubRootUuid: uuid() }) }],
  },
  {
    name: ZOO_INSTALLED_TOOL_CLASSES.initramfs,
    findingPrefix: 'boot:initramfs-missing:', summary: /update-initramfs can rebuild it in a chroot/, ownMachine: true,
    disks: [{ build: (path) => buildDebianRoot(path, (version) => ({ uuid: uuid(), kernels: { [version]: { initrd: null } } })) }],
  },
  {
    name: ZOO_INSTALLED_TOOL_CLASSES.grubRoot,
    findingPrefix: 'boot:grub-root-missing:', summary: /grub-mkconfig can regenerate grub\.cfg in a chroot/, ownMachine: true,
    disks: [{ build: (path) => buildDebianRoot(path, () => ({ uuid: uuid(), grubRootUuid: uuid() })) }],
  },
  {
    name: 'root file system 100% full',
    findingPrefix: 'free-space:low:',
    disks: [{ build: async (path) => {
      const big = (bytes: number) => Buffer.alloc(bytes, 0x6c);
      await buildExt4Root(path, { uuid: uuid(), extra: {
        'var/log/syslog.1': big(4 << 20), 'var/log/syslog.2.gz': big(3 << 20), 'var/log/messages.1': big(4 << 20),
        'var/cache/apt/archives/linux-image-6.1.0-28-amd64_6.1.119-1_amd64.deb': big(8 << 20),
        'var/cache/apt/archives/partial/.keep': '', 'var/lib/filler': '',
      } });
      // The rest taken by one file's preallocated blocks, down to the last few: 100% as df counts it.
      // The reserved blocks stay free, but df counts them as unavailable: 100% used.
      const free = await superblockField(path, 'Free blocks');
      await debugfs(path, [`fallocate /var/lib/filler 0 ${Math.max(free - 8, 1)}`]);
    } }],
  },
  {
    name: 'LVM: root LV with file system errors',
    findingPrefix: 'filesystems:errors:/dev/mapper/',
    disks: [{ blankMiB: 96 }],
    prepare: (host, [pv], source) => inVm(host, [
      'lvm pvcreate -qq -y "$1"', 'lvm vgcreate -qq zoovg "$1"', 'lvm lvcreate -qq -y -L 72M -n root zoovg', 'lvm vgmknodes zoovg',
      'dd if="$2" of=/dev/mapper/zoovg-root bs=1M 2>/dev/null',
      'i=$(debugfs -R "stat /var/log/syslog" /dev/mapper/zoovg-root 2>/dev/null | sed -n "s/^Inode: \\([0-9]*\\).*/\\1/p")',
      'printf "clri <%s>\\nssv state 2\\n" "$i" | debugfs -w -f - /dev/mapper/zoovg-root >/dev/null 2>&1',
      'lvm vgchange -qq -an zoovg',
    ].join('\n'), pv!, source),
  },
  {
    name: 'LVM: physical volume missing',
    findingPrefix: 'storage:lvm-missing-pv:',
    disks: [{ blankMiB: 48 }, { blankMiB: 48 }],
    prepare: (host, [first, second], source) => inVm(host, [
      'lvm pvcreate -qq -y "$1" "$2"', 'lvm vgcreate -qq zoomiss "$1" "$2"', 'lvm lvcreate -qq -y -l 100%FREE -n root zoomiss',
      'lvm vgmknodes zoomiss', 'dd if="$3" of=/dev/mapper/zoomiss-root bs=1M count=64 2>/dev/null', 'lvm vgchange -qq -an zoomiss',
      // The second disk dies: its PV label and metadata are gone.
      'dd if=/dev/zero of="$2" bs=1M count=2 2>/dev/null', 'sync',
    ].join('\n'), first!, second!, source),
    diagnosed: ([first]) => [first!],
  },
  {
    name: 'md RAID 1: member missing',
    findingPrefix: 'storage:md-not-running:',
    disks: [{ blankMiB: 80 }, { blankMiB: 80 }],
    prepare: (host, [first, second], source) => inVm(host, [
      'mdadm --create /dev/md/zooraid --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean "$1" "$2"',
      'dd if="$3" of=/dev/md/zooraid bs=1M 2>/dev/null', 'sync', 'mdadm --stop /dev/md/zooraid',
      // The second disk dies: its md superblock is gone.
      'mdadm --zero-superblock "$2"', 'dd if=/dev/zero of="$2" bs=1M count=2 2>/dev/null',
    ].join('\n'), first!, second!, source),
    diagnosed: ([first]) => [first!],
  },
];

/** The healthy ext4 root copied onto LVM and md volumes inside the VM (attached last, read-only). */
export async function buildZooSource(path: string): Promise<void> {
  await buildExt4Root(path, { uuid: uuid() }, 64);
}

export async function buildZooDisk(spec: ZooClass['disks'][number], path: string): Promise<void> {
  if ('blankMiB' in spec) {
    rmSync(path, { force: true });
    writeFileSync(path, '');
    truncateSync(path, spec.blankMiB * 1024 * 1024);
  } else {
    await spec.build(path);
  }
}

function matches(item: Finding, zooClass: ZooClass): boolean {
  return item.id.startsWith(zooClass.findingPrefix) && (!zooClass.summary || zooClass.summary.test(item.summary));
}

/**
 * Diagnoses and repairs one class: `missed` when no finding names it; `reinstall needed` when the finding says
 * so; `repaired` only when the fresh diagnosis after the repair no longer has it and has no critical finding left.
 */
export async function runZooClass(host: RescueHost, zooClass: ZooClass, devices: string[], options: { allowXfsLogZeroing?: boolean } = {}): Promise<ZooResult> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const before = await diagnose(host, { devices });
  const named = before.findings.find((item) => matches(item, zooClass));
  if (!named) {
    return { name: zooClass.name, finding: '-', verdict: 'missed', seconds: seconds(), detail: problems(before.findings).map((item) => `${item.id}: ${item.summary}`).join(' | ') || 'no problem found', before };
  }
  if (named.reinstall) return { name: zooClass.name, finding: named.id, verdict: 'reinstall needed', seconds: seconds(), detail: named.reinstall, before };
  if (!named.repair) return { name: zooClass.name, finding: named.id, verdict: 'not repaired', seconds: seconds(), detail: `no playbook: ${named.summary}`, before };
  const report = await repair(host, before, { dryRun: false, policy: { allowXfsLogZeroing: options.allowXfsLogZeroing ?? false } });
  const still = report.after.findings.find((item) => item.id === named.id || matches(item, zooClass) && item.severity !== 'info');
  const critical = report.after.findings.filter((item) => item.severity === 'critical');
  const ran = report.results.map((result) => `${result.playbook} ${result.status}`).join(', ');
  if (still || critical.length > 0) {
    return { name: zooClass.name, finding: named.id, verdict: 'not repaired', seconds: seconds(), before, repairReport: report,
      detail: `${ran}; after: ${[...(still ? [still] : []), ...critical].map((item) => `${item.id}: ${item.summary}`).join(' | ')}` };
  }
  return { name: zooClass.name, finding: named.id, verdict: 'repaired', seconds: seconds(), before, repairReport: report, detail: ran };
}


export interface ZooRun {
  results: ZooResult[];
  bootMs: number;
  buildMs: number;
}

function guestDevice(index: number): string {
  if (index >= 26) throw new Error('the zoo attaches at most 26 disks (vda..vdz)');
  return `/dev/vd${String.fromCharCode(97 + index)}`;
}

/**
 * Builds every class's disks in `directory`, boots one rescue VM with them (plus the healthy source disk, last),
 * prepares and runs each class in turn; the classes marked `ownMachine` (the installed Debian, whose
 * update-initramfs keeps a TCG CPU busy for half a minute) run in a second VM of their own, so that the two groups
 * cannot stall each other's SSH session. `onResult` sees each result as it comes; results keep the classes' order.
 */
export async function runZoo(directory: string, options: { classes?: readonly ZooClass[]; onResult?: (result: ZooResult) => void; allowXfsLogZeroing?: boolean } = {}): Promise<ZooRun> {
  const classes = options.classes ?? ZOO_CLASSES;
  mkdirSync(directory, { recursive: true });
  const results: Array<ZooResult | undefined> = classes.map(() => undefined);
  let bootMs = 0;
  let buildMs = 0;
  for (const own of [false, true]) {
    const group = [...classes.entries()].filter(([, zooClass]) => (zooClass.ownMachine ?? false) === own);
    if (group.length === 0) continue;
    const run = await runOnOneMachine(join(directory, own ? 'own-machine' : 'shared-machine'), group, options);
    bootMs = bootMs || run.bootMs;
    buildMs += run.buildMs;
    for (const [index, result] of run.results) results[index] = result;
  }
  return { results: results.filter((result): result is ZooResult => result !== undefined), bootMs, buildMs };
}

/** The guest's load, dirty and writeback memory, and its busiest processes, on one line. */
async function guestState(host: RescueHost): Promise<string> {
  try {
    // The tasks running or waiting on I/O, read from /proc: the rescue image's ps is BusyBox's, without -o or --sort.
    const script = [
      'cat /proc/loadavg',
      "grep -E '^(Dirty|Writeback):' /proc/meminfo",
      'for stat in /proc/[0-9]*/stat; do read -r pid comm state rest < "$stat" 2>/dev/null && case "$state" in R|D) echo "$state $pid $comm";; esac; done',
    ].join('; ');
    const result = await host.exec(['sh', '-c', script], { timeoutMs: 60_000 });
    return result.stdout.trim().replace(/\s*\n\s*/g, ' | ');
  } catch (error) {
    return `unreadable (${error instanceof Error ? error.message : String(error)})`;
  }
}

async function runOnOneMachine(
  directory: string,
  classes: Array<[number, ZooClass]>,
  options: { onResult?: (result: ZooResult) => void; allowXfsLogZeroing?: boolean },
): Promise<{ results: Array<[number, ZooResult]>; bootMs: number; buildMs: number }> {
  mkdirSync(directory, { recursive: true });
  const buildStarted = performance.now();
  const attached: Array<{ path: string }> = [];
  const devicesOf: string[][] = [];
  const pathsOf: string[][] = [];
  for (const [classIndex, zooClass] of classes) {
    const devices: string[] = [];
    const paths: string[] = [];
    for (const [diskIndex, spec] of zooClass.disks.entries()) {
      const path = join(directory, `class${classIndex}-disk${diskIndex}.raw`);
      await buildZooDisk(spec, path);
      paths.push(path);
      devices.push(guestDevice(attached.length));
      attached.push({ path });
    }
    devicesOf.push(devices);
    pathsOf.push(paths);
  }
  const sourcePath = join(directory, 'source.raw');
  await buildZooSource(sourcePath);
  const source = guestDevice(attached.length);
  const buildMs = Math.round(performance.now() - buildStarted);
  const machine = await startRescueMachine({ disks: [...attached, { path: sourcePath, readOnly: true }] });
  const results: Array<[number, ZooResult]> = [];
  try {
    for (const [position, [classIndex, zooClass]] of classes.entries()) {
      const devices = devicesOf[position] ?? [];
      let result: ZooResult;
      const started = performance.now();
      try {
        // The class before may have left the guest writing back what it wrote (the installed Debian's
        // update-initramfs: tens of MB through one emulated CPU). The product's probes time out after 30 s, as
        // they should on a real machine; this class's start waits for the guest's disks to be quiet first.
        // The product's deadlines are stretched for the emulated CPU (EMULATED_DEADLINE_SCALE, rescue-machine.ts).
        if (position > 0) await machine.session.exec(['sync'], { timeoutMs: 300_000 });
        await zooClass.prepare?.(machine.host, devices, source);
        result = await runZooClass(machine.host, zooClass, zooClass.diagnosed ? zooClass.diagnosed(devices) : devices, options);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // A command that ran out of time: what the guest was doing then says whether it was the code or the machine.
        const guest = isShellError(error) && error.kind === 'timeout' ? `; the guest then: ${await guestState(machine.session)}` : '';
        result = { name: zooClass.name, finding: '-', verdict: 'missed', seconds: Math.round((performance.now() - started) / 100) / 10, detail: `error: ${message}${guest}` };
      }
      result.disks = pathsOf[position] ?? [];
      results.push([classIndex, result]);
      options.onResult?.(result);
    }
  } finally {
    await machine.stop();
  }
  return { results, bootMs: machine.bootMs, buildMs };
}
