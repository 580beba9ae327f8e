import { AppConfig } from '../config';
import { PROCESS_MODE_TAG_PREFIX } from '../names';
import { TemplateValues } from './fill-template';
import { StackValues } from './stack-values';

/** CPU and memory per GPU of the multi-GPU pod: 40 vCPU / 160 GiB on a 4-GPU g5.12xlarge (48 / 192). */
const MULTI_GPU_CPU_PER_GPU = 10;
const MULTI_GPU_MEMORY_GIB_PER_GPU = 40;
/**
 * What process mode adds per GPU, so each GPU keeps the same memory for models and caches as in thread mode: one
 * more ComfyUI process, which holds 0.85 GiB resident idle on the CPU (0.49 GiB of it private; ComfyUI v0.33,
 * docs/process-mode-design.md section 4), plus its own CUDA context's host memory (unverified: measure on a GPU
 * node). 4 x 42 GiB still fits a 192 GiB 4-GPU node beside the daemons, and 8 x 42 GiB a 384 GiB 8-GPU one.
 */
const PROCESS_WORKER_MEMORY_GIB = 2;

/**
 * The `{{ name }}` values of the multi-GPU overlay's pod: its image (the process-mode image, tagged
 * PROCESS_MODE_TAG_PREFIX + tag, when config `multiGpuExecutor` is `process`), executor, GPUs, CPU and memory.
 */
export function multiGpuValues(stack: StackValues, config: AppConfig, imageTag: string): TemplateValues {
  const processMode = config.multiGpuExecutor === 'process';
  const memoryPerGpu = MULTI_GPU_MEMORY_GIB_PER_GPU + (processMode ? PROCESS_WORKER_MEMORY_GIB : 0);
  return {
    multiGpuComfyuiImage: `${stack.ecrRepositoryUri}:${processMode ? PROCESS_MODE_TAG_PREFIX : ''}${imageTag}`,
    multiGpuExecutor: config.multiGpuExecutor,
    gpusPerMultiGpuNode: config.gpusPerMultiGpuNode,
    multiGpuCpu: config.gpusPerMultiGpuNode * MULTI_GPU_CPU_PER_GPU,
    multiGpuMemory: `${config.gpusPerMultiGpuNode * memoryPerGpu}Gi`,
  };
}
