// The TFTP server's public API. See server.ts for the server, files.ts for file providers.
export { createTftpServer, defaultTftpPort, TftpServer } from './server.js';
export type {
  TftpListenAddress,
  TftpOperation,
  TftpRejectedPacketEvent,
  TftpRequestEvent,
  TftpServerEvents,
  TftpServerOptions,
  TftpTransferReport,
} from './server.js';
export type { TftpTransferError, TftpTransferOutcome } from './transfer.js';
export { tftpBytesFile, tftpFileRefusal } from './files.js';
export type {
  TftpBytesFile,
  TftpClientAddress,
  TftpDiskFile,
  TftpFile,
  TftpFileLookup,
  TftpFileProvider,
  TftpFileRefusal,
  TftpFileRequest,
} from './files.js';
export { createDiskFileProvider } from './disk-provider.js';
export { normalizeTftpPath, maxTftpPathBytes } from './jail.js';
export type { TftpPathRejection, TftpPathResult } from './jail.js';
export { tftpErrorCode, tftpErrorKind } from './errors.js';
export type { TftpErrorKind, TftpProblem } from './errors.js';
export type { TftpMode } from './packets.js';
export { fetchTftpFile } from './client.js';
export type { TftpFetchErrorKind, TftpFetchFailure, TftpFetchOptions, TftpFetchResult, TftpFetched } from './client.js';
