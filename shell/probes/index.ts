// The probes in the order they run: the file system check before anything reads (or mounts) the file systems.
import type { Probe } from './context.js';
import { blockDevicesProbe } from './block-devices.js';
import { filesystemsProbe } from './filesystems.js';
import { storageProbe } from './storage.js';
import { fstabProbe } from './fstab.js';
import { bootProbe } from './boot.js';
import { freeSpaceProbe } from './free-space.js';
import { smartProbe } from './smart.js';
import { bootLogsProbe } from './boot-logs.js';

export const PROBES: readonly Probe[] = [blockDevicesProbe, storageProbe, filesystemsProbe, fstabProbe, bootProbe, freeSpaceProbe, smartProbe, bootLogsProbe];

export { DiagnosisContext, type Probe, type RootFileSystem } from './context.js';
