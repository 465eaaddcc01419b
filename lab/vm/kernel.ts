// Moved to images/kernel.ts (the rescue image builder takes the same kernels); the lab's names kept for its imports.
export {
  DEFAULT_KERNEL_META_PACKAGE,
  ensureDebianKernel as ensureLabKernel,
  type DebianKernel as LabKernel,
  type EnsureDebianKernelOptions as EnsureLabKernelOptions,
} from '../../images/kernel.js';
