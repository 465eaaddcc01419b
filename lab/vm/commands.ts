// Moved to images/commands.ts (the rescue image builder runs the same host tools); kept for the lab's imports.
export * from '../../images/commands.js';
