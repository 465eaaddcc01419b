// shell/: SSH sessions to the rescue environment (host key pinned), diagnostic probes that return structured
// findings, and repair playbooks that are idempotent and can run as a dry run.
export { openSession, ShellSession, type SessionOptions } from './session.js';
export { ShellError, isShellError, isRetryableShellError, toShellFailure, SHELL_ERROR_KINDS, type ShellErrorKind, type ShellFailure } from './errors.js';
export { execChecked, withAbortSignal, type ExecOptions, type ExecResult, type RescueHost } from './rescue-host.js';
export { buildCommandLine, quoteShellArgument, shellScript } from './quote.js';
export { parsePinnedHostKey, type PinnedHostKey } from './host-key.js';
export { diagnose, asDiagnosisReport, type DiagnoseOptions, type DiagnosisReport, type ProbeRun } from './diagnose.js';
export { repair, planRepair, type RepairOptions, type RepairReport } from './repair.js';
export { PLAYBOOK_IDS, PROBE_NAMES, SEVERITIES, problems, type Finding, type PlaybookId, type ProbeName, type Severity } from './findings.js';
export type { Evidence } from './evidence.js';
export type { ExaminedDevice, FileSystemIdentity } from './inventory.js';
export type { PlaybookResult, PlaybookStatus } from './playbooks/index.js';
export type { FileSystemAccessPreference } from './file-systems/open.js';
export { findTools, type ToolInventory } from './tools.js';
