// Running one of our processes: read the configuration, start, print, and stop everything on SIGINT or
// SIGTERM. A start that fails stops what had started and says why in one line.
import { loadConfig, ConfigurationError, type RescuedConfig } from '../config/environment.js';
import type { Stopper } from './components.js';
import { configureConsoleLog, consoleLog } from '../observability/console.js';

export class StartupSteps {
  private readonly stoppers: Stopper[] = [];
  add(stop: Stopper): void {
    this.stoppers.push(stop);
  }
  async stopAll(): Promise<void> {
    for (const stop of this.stoppers.splice(0).reverse()) await stop().catch((error: Error) => consoleLog().error(`while stopping: ${error.message}`));
  }
}

export async function runProcess(name: string, start: (config: RescuedConfig, steps: StartupSteps) => Promise<void>): Promise<void> {
  let config: RescuedConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      console.error(`${name}: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  configureConsoleLog({ name, level: config.logLevel, format: config.logFormat });
  const steps = new StartupSteps();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    consoleLog().info(`${name}: ${signal} received, stopping`);
    setTimeout(() => {
      consoleLog().error(`${name}: did not stop within 30 s, exiting anyway`);
      process.exit(1);
    }, 30_000).unref();
    steps.stopAll().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await start(config, steps);
  } catch (error) {
    consoleLog().error(`${name}: could not start: ${(error as Error).message}`);
    await steps.stopAll();
    process.exit(1);
  }
}
