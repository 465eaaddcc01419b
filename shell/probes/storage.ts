// md RAID arrays and LVM volume groups on the examined disks: an array that cannot start because a member is
// missing (critical: the root on it is out of reach; the raid-assemble-degraded playbook starts it degraded), an
// array running degraded (a warning that names the missing member), a volume group missing a physical volume
// (what is gone, and which logical volumes had extents on it: a reinstall or a restore, no playbook). And a
// finding naming the tool when the rescue image lacks mdadm or lvm for a disk that needs it.
import { evidenceOf } from '../evidence.js';
import { finding, type Finding } from '../findings.js';
import { missingRoles, parseLogicalVolumes, parseMdExamine, parsePhysicalVolumes, type MdMember } from '../md-examine.js';
import { shellScript } from '../quote.js';
import { LVM_MEMBER_TYPE, MD_MEMBER_TYPE, storageMembers } from '../storage.js';
import { lacking } from '../tools.js';
import type { DiagnosisContext, Probe } from './context.js';

const EXAMINE_SCRIPT = [
  'for d in "$@"; do echo "#device $d"; mdadm --examine "$d" 2>/dev/null; done',
  'for m in /sys/block/md*; do [ -d "$m" ] || continue; echo "#md ${m##*/} $(cat "$m/md/array_state" 2>/dev/null) $(cat "$m/md/degraded" 2>/dev/null) $(ls "$m/slaves" | tr "\\n" " ")"; done',
  'exit 0',
].join('\n');

export const storageProbe: Probe = {
  name: 'storage',
  async run(context: DiagnosisContext): Promise<Finding[]> {
    const findings: Finding[] = [];
    const members = storageMembers(context.devices);
    const base = { probe: 'storage' as const };
    const raidMembers = members.filter((device) => device.fileSystem?.type === MD_MEMBER_TYPE);
    const lvmMembers = members.filter((device) => device.fileSystem?.type === LVM_MEMBER_TYPE);
    if (raidMembers.length > 0 && !context.tools.has('mdadm')) {
      findings.push(finding({ ...base, check: 'unavailable-mdadm', severity: 'critical', subject: raidMembers[0]!.path, device: null, summary: `${raidMembers.map((device) => device.path).join(', ')} are md RAID members, but ${lacking('mdadm')}: the arrays cannot be started or checked`, evidence: [] }));
    }
    if (lvmMembers.length > 0 && !context.tools.has('lvm')) {
      findings.push(finding({ ...base, check: 'unavailable-lvm', severity: 'critical', subject: lvmMembers[0]!.path, device: null, summary: `${lvmMembers.map((device) => device.path).join(', ')} are LVM physical volumes, but ${lacking('lvm')}: the volume groups cannot be activated or checked`, evidence: [] }));
    }

    if (context.tools.has('mdadm') && raidMembers.length > 0) {
      const result = await context.host.exec(shellScript(EXAMINE_SCRIPT, ...raidMembers.map((device) => device.path)), { timeoutMs: 60_000 });
      const members: MdMember[] = [];
      const running = new Map<string, { state: string; degraded: string; slaves: string[] }>();
      for (const chunk of result.stdout.split(/^#/m)) {
        if (chunk.startsWith('device ')) {
          const newline = chunk.indexOf('\n');
          const member = parseMdExamine(chunk.slice('device '.length, newline).trim(), chunk.slice(newline + 1));
          if (member) members.push(member);
        } else if (chunk.startsWith('md ')) {
          const [, name, state, degraded, ...slaves] = chunk.trim().split(/\s+/);
          if (name) running.set(name, { state: state ?? '', degraded: degraded ?? '', slaves });
        }
      }
      const evidence = [evidenceOf(result, { limit: 2000 })];
      for (const arrayUuid of new Set(members.map((member) => member.arrayUuid))) {
        const group = members.filter((member) => member.arrayUuid === arrayUuid);
        const first = group[0]!;
        const name = first.name ?? arrayUuid;
        const missing = missingRoles(group);
        const md = [...running].find(([, info]) => group.some((member) => info.slaves.includes(member.device.replace(/^\/dev\//, ''))));
        const active = md !== undefined && !/^(inactive|clear|)$/.test(md[1].state);
        const have = `${group.length} of ${first.raidDevices ?? '?'} member(s) (${group.map((member) => `${member.device} role ${member.role ?? 'spare'}`).join(', ')})`;
        const gone = missing.length > 0 ? `member role ${missing.join(', ')} is missing` : 'no member is missing';
        if (!active) {
          findings.push(finding({
            ...base, check: 'md-not-running', severity: 'critical', subject: `md:${arrayUuid}`, device: first.device, repair: 'raid-assemble-degraded',
            summary: `md ${first.level ?? 'RAID'} array "${name}" is not running: ${have}; ${gone}, so it does not start on its own and the file system on it cannot be reached`,
            evidence,
          }));
        } else if (missing.length > 0 || md[1].degraded !== '0') {
          findings.push(finding({
            ...base, check: 'md-degraded', severity: 'warning', subject: `md:${arrayUuid}`, device: `/dev/${md[0]}`,
            summary: `md ${first.level ?? 'RAID'} array "${name}" (/dev/${md[0]}) runs degraded on ${have}: ${gone}; add a new disk with mdadm --add to restore redundancy`,
            evidence,
          }));
        } else {
          findings.push(finding({ ...base, check: 'md-ok', severity: 'info', subject: `md:${arrayUuid}`, device: `/dev/${md[0]}`, summary: `md array "${name}" (/dev/${md[0]}) runs with all ${group.length} members`, evidence }));
        }
      }
    }

    if (context.tools.has('lvm') && lvmMembers.length > 0) {
      const pvs = await context.host.exec(['lvm', 'pvs', '--reportformat', 'json', '-o', 'pv_name,pv_uuid,vg_name,pv_size,pv_missing'], { timeoutMs: 60_000 });
      const lvs = await context.host.exec(['lvm', 'lvs', '--reportformat', 'json', '-o', 'lv_name,vg_name,lv_active,devices'], { timeoutMs: 60_000 });
      const volumes = parsePhysicalVolumes(pvs.stdout);
      const logical = parseLogicalVolumes(lvs.stdout);
      const ours = new Set(lvmMembers.map((device) => device.path));
      const groups = new Set(volumes.filter((volume) => ours.has(volume.name)).map((volume) => volume.vg).filter(Boolean));
      const evidence = [evidenceOf(pvs, { limit: 1500 }), evidenceOf(lvs, { limit: 1500 })];
      for (const vg of groups) {
        const gone = volumes.filter((volume) => volume.vg === vg && volume.missing);
        const lvsOfGroup = logical.filter((volume) => volume.vg === vg);
        if (gone.length > 0) {
          const hit = lvsOfGroup.filter((volume) => /\[unknown\]/.test(volume.devices));
          findings.push(finding({
            ...base, check: 'lvm-missing-pv', severity: 'critical', subject: `lvm:${vg}`, device: null,
            summary: `volume group "${vg}" is missing ${gone.length} physical volume(s): ${gone.map((volume) => `PV UUID ${volume.uuid} (${volume.size})`).join(', ')}; `
              + (hit.length > 0 ? `logical volume(s) ${hit.map((volume) => volume.name).join(', ')} had extents on it and cannot be activated` : 'no logical volume had extents on it'),
            evidence,
            ...(hit.length > 0 ? { reinstall: `the data of ${hit.map((volume) => `${vg}/${volume.name}`).join(', ')} on the missing disk is gone: replace the disk, then restore from backup or reinstall` } : {}),
          }));
        } else {
          const inactive = lvsOfGroup.filter((volume) => !volume.active);
          findings.push(finding({
            ...base, check: inactive.length > 0 ? 'lvm-inactive' : 'lvm-ok', severity: inactive.length > 0 ? 'warning' : 'info', subject: `lvm:${vg}`, device: null,
            summary: `volume group "${vg}": ${lvsOfGroup.length} logical volume(s)${inactive.length > 0 ? `, not active: ${inactive.map((volume) => volume.name).join(', ')}` : ', all active'}`,
            evidence,
          }));
        }
      }
    }
    return findings;
  },
};
