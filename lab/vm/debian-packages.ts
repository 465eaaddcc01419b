// Moved to images/debian-packages.ts (the rescue image builder unpacks the same packages); kept for the lab's imports.
export * from '../../images/debian-packages.js';
