// xfs_repair's verdicts (xfs_repair(8), xfsprogs 6.1): with -n it exits 0 when it finds nothing and 1 when it finds
// corruption; without -n it exits 2 when the log holds changes it will not throw away without -L. A dirty log is
// announced with "valuable metadata changes in a log" in both modes.

export interface XfsRepairCheck {
  /** The log holds changes that a mount would replay. */
  dirtyLog: boolean;
  /** Metadata corruption found (exit 1 of -n). */
  corrupt: boolean;
  /** No usable superblock, or the device could not be read. */
  unreadable: boolean;
  /** The lines that name problems (not the phase headers). */
  problems: string[];
}

const PHASE_LINE = /^(Phase \d|- |No modify flag set|Cannot get host filesystem geometry|Repair may fail|the image and the host|done$|\.+$|ALERT: The filesystem has valuable|resolved by first mounting|-n option was used|Expect spurious)/;

export function xfsProblemLines(output: string): string[] {
  return output.split('\n').map((line) => line.trim()).filter((line) => line.length > 0 && !PHASE_LINE.test(line)).slice(0, 20);
}

export function interpretXfsRepairCheck(exitCode: number | null, output: string): XfsRepairCheck {
  const dirtyLog = /valuable metadata changes in a log/i.test(output);
  const unreadable = /bad magic number|could not find valid secondary superblock|couldn't verify primary superblock|can't read superblock|Input\/output error/i.test(output) && exitCode !== 0;
  return { dirtyLog, corrupt: exitCode === 1 && !unreadable, unreadable, problems: xfsProblemLines(output) };
}

/** xfs_repair (without -n) refused because of the log: exit 2 and the "valuable metadata changes" error. */
export function refusedForDirtyLog(exitCode: number | null, output: string): boolean {
  return exitCode === 2 && /valuable metadata changes in a log|log which needs to be replayed/i.test(output);
}
