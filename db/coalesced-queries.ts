// One statement for the calls that arrive together. While a statement runs, the calls that come meanwhile
// wait and then go together in the next one, so a burst of webhook deliveries costs a few round trips, not
// one per delivery (a round trip to PostgreSQL wakes another process, the dearest thing the webhook path
// does on a busy machine). A call made while nothing runs goes at once: an idle server adds no delay.

/**
 * `run` answers every input, in order, with one statement (or one transaction); a call gets its own answer.
 * When it fails for several calls, each is tried again alone (in parallel), so that one call the database
 * refuses (a value it cannot store) fails alone, as it would have without the others; `run` must therefore
 * leave nothing behind when it fails, as one statement does.
 */
export function coalescedQuery<Input, Output>(run: (inputs: Input[]) => Promise<Output[]>, options: { maxCalls?: number } = {}): (input: Input) => Promise<Output> {
  // A statement has at most 65,535 parameters: a storm's calls go a few hundred at a time.
  const maxCalls = options.maxCalls ?? 200;
  type Call = { input: Input; resolve: (output: Output) => void; reject: (error: unknown) => void };
  const waiting: Call[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    while (waiting.length > 0) {
      const calls = waiting.splice(0, maxCalls);
      try {
        const outputs = await run(calls.map((c) => c.input));
        if (outputs.length !== calls.length) throw new Error(`a coalesced query answered ${outputs.length} of ${calls.length} calls`);
        calls.forEach((call, index) => call.resolve(outputs[index]!));
      } catch (error) {
        if (calls.length === 1) calls[0]!.reject(error);
        else await Promise.all(calls.map((call) => run([call.input]).then((outputs) => call.resolve(outputs[0]!), call.reject)));
      }
    }
    running = false;
  }

  return (input) =>
    new Promise<Output>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (!running) void drain();
    });
}
