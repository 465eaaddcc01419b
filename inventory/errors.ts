// Errors of the inventory, by kind: the API turns each kind into its status code (404, 409, 400).
export type InventoryErrorKind = 'not-found' | 'conflict' | 'in-use' | 'invalid';

export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  constructor(
    readonly kind: InventoryErrorKind,
    message: string,
    /** The input field the error is about, where there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export const notFound = (objectType: string, name: string) => new InventoryError('not-found', `${objectType} "${name}" does not exist`);
