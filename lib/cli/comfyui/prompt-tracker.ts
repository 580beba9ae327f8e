import { HistoryEntry, OutputFile } from './comfyui-client';

/** A ComfyUI WebSocket JSON message: `{type, data}` (server.py send_sync). */
export interface ComfyMessage {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export type PromptPhase = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface PromptFailure {
  readonly nodeId?: string;
  readonly nodeType?: string;
  readonly exceptionType?: string;
  readonly message: string;
}

/**
 * What one prompt is doing, built from the WebSocket messages that carry its prompt_id (others' are
 * ignored) or from its history entry when the socket is gone. Pure: no I/O, fed one message at a time.
 */
export class PromptTracker {
  phase: PromptPhase = 'queued';
  /** The node executing now, and its sampler step if it reports progress. */
  currentNode?: string;
  step?: { value: number; max: number };
  /** Prompts ahead in the server's queue (status messages; the multi-GPU image reports all GPUs). */
  queueRemaining?: number;
  readonly finishedNodes = new Set<string>();
  readonly outputs = new Map<string, Record<string, unknown>>();
  failure?: PromptFailure;

  constructor(readonly promptId: string) {}

  get finished(): boolean {
    return this.phase === 'succeeded' || this.phase === 'failed' || this.phase === 'interrupted';
  }

  /** Applies one message; returns whether it concerned this prompt (or the queue). */
  apply(message: ComfyMessage): boolean {
    const data = message.data ?? {};
    if (message.type === 'status') {
      const remaining = (data.status as { exec_info?: { queue_remaining?: unknown } } | undefined)?.exec_info?.queue_remaining;
      if (typeof remaining === 'number') this.queueRemaining = remaining;
      return true;
    }
    if (data.prompt_id !== this.promptId || this.finished) return false;
    switch (message.type) {
      case 'execution_start':
        this.phase = 'running';
        break;
      case 'execution_cached':
        for (const node of (data.nodes as string[] | undefined) ?? []) this.finishedNodes.add(String(node));
        break;
      case 'executing': {
        this.phase = 'running';
        if (this.currentNode !== undefined) this.finishedNodes.add(this.currentNode);
        this.step = undefined;
        // `node: null` is ComfyUI's "this prompt is done" (before execution_success existed, and still sent).
        if (data.node === null || data.node === undefined) {
          this.currentNode = undefined;
          if (!this.failure) this.phase = 'succeeded';
        } else {
          this.currentNode = String(data.node);
        }
        break;
      }
      case 'progress':
        if (typeof data.value === 'number' && typeof data.max === 'number') this.step = { value: data.value, max: data.max };
        break;
      case 'executed':
        if (data.output && typeof data.output === 'object') this.outputs.set(String(data.node), data.output as Record<string, unknown>);
        break;
      case 'execution_success':
        this.phase = 'succeeded';
        this.currentNode = undefined;
        break;
      case 'execution_error':
        this.failure = {
          nodeId: data.node_id === undefined ? undefined : String(data.node_id),
          nodeType: typeof data.node_type === 'string' ? data.node_type : undefined,
          exceptionType: typeof data.exception_type === 'string' ? data.exception_type : undefined,
          message: typeof data.exception_message === 'string' ? data.exception_message.trim() : 'execution failed',
        };
        this.phase = 'failed';
        break;
      case 'execution_interrupted':
        this.phase = 'interrupted';
        break;
      default:
        return false;
    }
    return true;
  }

  /** Applies a finished prompt's history entry: its outputs and, through its messages, how it ended. */
  applyHistory(entry: HistoryEntry): void {
    for (const [node, output] of Object.entries(entry.outputs ?? {})) this.outputs.set(node, output);
    for (const [type, data] of entry.status?.messages ?? []) this.apply({ type, data: { ...data, prompt_id: this.promptId } });
    if (!this.finished) {
      const status = entry.status?.status_str;
      this.phase = status === 'error' ? 'failed' : 'succeeded';
      if (status === 'error' && !this.failure) this.failure = { message: 'ComfyUI reported an error (no details in history)' };
    }
  }

  /** Every file the prompt produced, from all output nodes (images, gifs/videos, audio, ...). */
  outputFiles(): OutputFile[] {
    const files: OutputFile[] = [];
    for (const output of this.outputs.values()) {
      for (const value of Object.values(output)) {
        if (!Array.isArray(value)) continue;
        for (const item of value) {
          if (item && typeof item === 'object' && typeof item.filename === 'string') {
            files.push({ filename: item.filename, subfolder: typeof item.subfolder === 'string' ? item.subfolder : '', type: typeof item.type === 'string' ? item.type : 'output' });
          }
        }
      }
    }
    return files;
  }
}
