// e2fsck's exit status is a bit mask (e2fsck(8)): 1 errors corrected, 2 corrected and the system should be
// rebooted, 4 errors left uncorrected, 8 operational error, 16 usage or syntax error, 32 cancelled by the user,
// 128 shared library error.

export interface E2fsckOutcome {
  exitCode: number;
  /** Nothing wrong was found. */
  clean: boolean;
  /** Errors were found and fixed (with -y or -p). */
  corrected: boolean;
  rebootNeeded: boolean;
  /** Errors remain: with -n, every error found; with -y, what could not be fixed. */
  uncorrected: boolean;
  /** e2fsck could not do its job: device busy or mounted, no valid superblock, ... */
  operationalError: boolean;
  usageError: boolean;
  cancelled: boolean;
  libraryError: boolean;
  /** A short reading of the status for reports. */
  description: string;
}

export function interpretE2fsckExit(exitCode: number): E2fsckOutcome {
  const bit = (mask: number) => (exitCode & mask) !== 0;
  const outcome: E2fsckOutcome = {
    exitCode,
    clean: exitCode === 0,
    corrected: bit(1) || bit(2),
    rebootNeeded: bit(2),
    uncorrected: bit(4),
    operationalError: bit(8),
    usageError: bit(16),
    cancelled: bit(32),
    libraryError: bit(128),
    description: '',
  };
  const parts: string[] = [];
  if (outcome.clean) parts.push('no errors');
  if (bit(1) && !bit(2)) parts.push('errors corrected');
  if (bit(2)) parts.push('errors corrected, reboot needed');
  if (bit(4)) parts.push('errors left uncorrected');
  if (bit(8)) parts.push('operational error');
  if (bit(16)) parts.push('usage error');
  if (bit(32)) parts.push('cancelled');
  if (bit(128)) parts.push('shared library error');
  if (parts.length === 0) parts.push(`unknown status ${exitCode}`);
  outcome.description = parts.join(', ');
  return outcome;
}

/** e2fsck found no ext2/3/4 superblock at all (primary nor backups): not an ext file system, or wiped. */
export function saysNoExtFileSystem(output: string): boolean {
  return /Bad magic number in super-block/.test(output)
    && /does not describe a valid ext2\/ext3\/ext4|while trying to open/.test(output);
}

/** The lines of e2fsck's output that describe problems (not the pass headers or the summary). */
export function e2fsckProblemLines(output: string, max = 8): string[] {
  const lines = output.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  const problems = lines.filter((line) => !/^(Pass \d|e2fsck \d|[^ ]+: \d+\/\d+ files|\*+|[^ ]+: \*+)/.test(line));
  return problems.slice(0, max);
}
