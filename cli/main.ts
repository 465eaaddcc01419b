// rescuectl: the operator's command line, in Cobbler's shape. Errors: one line on stderr, non-zero exit.
import { Command, CommanderError } from 'commander';
import { CliError, createApiClient, defaultServerUrl, type ApiClient } from './api-client.js';
import { registerInventoryCommands } from './commands/inventory.js';
import { registerTokenCommands } from './commands/token.js';
import { registerNetbootCommands } from './commands/netboot.js';
import { registerPowerCommands } from './commands/power.js';
import { registerRescueCommands } from './commands/rescue.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerAutomationCommands } from './commands/automation.js';
import { registerImageCommands } from './commands/image.js';
import { PACKAGE_VERSION } from '../config/version.js';

export function buildProgram(): Command {
  const program = new Command('rescuectl')
    .description('Inventory and rescues of bare-metal machines, from the rescued server')
    .version(PACKAGE_VERSION)
    .option('--server <url>', `rescued API (default ${defaultServerUrl()}, or RESCUED_SERVER)`)
    .option('--token <token>', 'API token (default RESCUED_TOKEN, or the admin token in RESCUED_DATA_DIR)')
    .option('--json', 'print JSON for scripts')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const globals = () => program.opts<{ server?: string; token?: string; json?: boolean }>();
  let client: ApiClient | undefined;
  const connect = async () => (client ??= await createApiClient({ server: globals().server, token: globals().token }));
  const json = () => globals().json === true;
  registerInventoryCommands(program, connect, json);
  registerTokenCommands(program, connect, json);
  registerNetbootCommands(program, connect, json);
  registerPowerCommands(program, connect, json);
  registerRescueCommands(program, connect, json);
  registerAuditCommands(program, connect, json);
  registerAutomationCommands(program, connect, json);
  registerImageCommands(program, connect, json);
  // Subcommands inherit exitOverride and output settings.
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(add --help for usage)');
  return program;
}

/** `rescuectl ... | head` closes our standard output early: that ends the command quietly, not with a trace. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

export async function runCli(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that ended well but reports a bad result (watch of a failed rescue) set its exit code.
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help / version, which exit 0).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      process.stderr.write(`rescuectl: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`rescuectl: unexpected error: ${(error as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.ts')) {
  process.exitCode = await runCli(process.argv.slice(2));
}
