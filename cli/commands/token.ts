// `rescuectl token create|list|remove`: API tokens with roles (admin only).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { listRows, withPageOptions, type PageOptions } from '../list-pages.js';
import { CliError, type ApiClient } from '../api-client.js';
import { printJson, printTable, type Row } from '../output.js';

const ROLES = ['viewer', 'operator', 'admin', 'webhook'];

export function registerTokenCommands(program: Command, connect: () => Promise<ApiClient>, json: () => boolean): void {
  const group = program.command('token').description('manage API tokens (admin)');
  group
    .command('create')
    .description('create a token; it is printed once and cannot be shown again')
    .requiredOption('--role <role>', 'viewer | operator | admin | webhook (delivers alerts, nothing else)')
    .option('--name <name>', 'a name for the token (default: <role>-<time>)')
    .option('--hmac-secret-file <file>', 'webhook tokens: a file holding the secret that signs generic deliveries (X-Rescued-Signature)')
    .action(async (options: { role: string; name?: string; hmacSecretFile?: string }) => {
      if (!ROLES.includes(options.role)) throw new CliError(`--role: "${options.role}" is not a role (viewer, operator, admin or webhook)`, 2);
      if (options.hmacSecretFile !== undefined && options.role !== 'webhook') throw new CliError('--hmac-secret-file: only webhook tokens sign deliveries', 2);
      let hmacSecret: string | undefined;
      if (options.hmacSecretFile !== undefined) {
        try {
          hmacSecret = (await readFile(options.hmacSecretFile, 'utf8')).trim();
        } catch (error) {
          throw new CliError(`--hmac-secret-file: cannot read "${options.hmacSecretFile}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 2);
        }
      }
      const name = options.name ?? `${options.role}-${Date.now().toString(36)}`;
      const created = await (await connect()).request<Row>('POST', '/api/v1/tokens', { name, role: options.role, ...(hmacSecret !== undefined ? { hmacSecret } : {}) });
      if (json()) printJson(created);
      else console.log(`${String(created.token)}\n(token "${name}", role ${options.role}; store it now, it is not shown again)`);
    });
  withPageOptions(group.command('list').description('list tokens (names and roles, never the tokens)'))
    .action(async (options: PageOptions) => {
      const rows = await listRows(await connect(), '/api/v1/tokens', options);
      if (json()) printJson(rows);
      else
        printTable(rows, [
          { key: 'name', header: 'NAME' },
          { key: 'role', header: 'ROLE' },
          { key: 'createdAt', header: 'CREATED' },
          { key: 'lastUsedAt', header: 'LAST USED' },
          { key: 'hmac', header: 'HMAC', value: (row) => (row.hmac ? 'yes' : '') },
        ]);
    });
  group
    .command('remove')
    .description('revoke a token')
    .argument('<name>')
    .action(async (name: string) => {
      await (await connect()).request('DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`);
      console.log(`removed token ${name}`);
    });
}
