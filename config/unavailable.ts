// A dependency that does not answer (Temporal, the database): the API answers 503 naming it, never 500.
export type Dependency = 'Temporal' | 'database';

export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: Dependency,
    message: string,
  ) {
    super(`${dependency}: ${message}`);
  }
}
