// TFTP error kinds (RFC 1350 section 5, RFC 2347 code 8) as values, and their wire codes.

export type TftpErrorKind =
  | 'not-defined'
  | 'file-not-found'
  | 'access-violation'
  | 'disk-full'
  | 'illegal-operation'
  | 'unknown-transfer-id'
  | 'file-exists'
  | 'no-such-user'
  | 'option-negotiation-refused';

/** A reason to refuse or stop a transfer: what goes into an ERROR packet. */
export interface TftpProblem {
  kind: TftpErrorKind;
  message: string;
}

const codeByKind: Record<TftpErrorKind, number> = {
  'not-defined': 0,
  'file-not-found': 1,
  'access-violation': 2,
  'disk-full': 3,
  'illegal-operation': 4,
  'unknown-transfer-id': 5,
  'file-exists': 6,
  'no-such-user': 7,
  'option-negotiation-refused': 8,
};

const kindByCode = new Map<number, TftpErrorKind>(
  Object.entries(codeByKind).map(([kind, code]) => [code, kind as TftpErrorKind]),
);

export function tftpErrorCode(kind: TftpErrorKind): number {
  return codeByKind[kind];
}

/** Unknown codes (a peer may send anything) are 'not-defined'. */
export function tftpErrorKind(code: number): TftpErrorKind {
  return kindByCode.get(code) ?? 'not-defined';
}

export function tftpProblem(kind: TftpErrorKind, message: string): TftpProblem {
  return { kind, message };
}
