// The one data converter of our client and worker: payloads through the encryption codec, failure messages
// encoded so that the codec covers them. The codec runs in the worker's main thread, outside the sandbox.
import { createRequire } from 'node:module';
import type { DataConverter, PayloadCodec } from '@temporalio/common';

const require = createRequire(import.meta.url);

export function rescuedDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: require.resolve('./failure-converter.ts') };
}
