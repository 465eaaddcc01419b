// Moved to images/cpio.ts (the rescue image builder writes the initramfs); kept for the lab's imports.
export * from '../../images/cpio.js';
