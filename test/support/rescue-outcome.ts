// How a rescue ended, whichever way Temporal closed it: a completed workflow returns its result; a failed
// rescue fails its workflow (RescueFailed, the status as details) and an aborted one is cancelled, so for
// those the outcome is read as the API reads it (rescue/rescue-client.ts status()).
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { RescueClient } from '../../rescue/rescue-client.js';
import type { RescueResult } from '../../workflows/rescue.js';

export async function rescueOutcome(client: Client, rescues: RescueClient, system: string): Promise<RescueResult> {
  try {
    return (await client.workflow.getHandle(`rescue-${system}`).result()) as RescueResult;
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const { status } = await rescues.status(system);
    if (status.outcome === null) throw new Error(`the rescue of ${system} closed without an outcome: ${error.message}`);
    return { outcome: status.outcome, status };
  }
}
