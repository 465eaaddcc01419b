// Failure messages and stack traces carry what went wrong in words (a host's address, a BMC's reply): they
// go into the history as an encoded payload, so the payload codec encrypts them like everything else.
// Loaded by path (Worker dataConverter.failureConverterPath): it runs inside the workflow sandbox too.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
