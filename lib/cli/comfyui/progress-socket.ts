import WebSocket from 'ws';
import { ComfyMessage } from './prompt-tracker';

/**
 * ComfyUI's progress WebSocket (`/ws?clientId=...`), opened before the prompt is queued so no message is
 * missed. JSON messages are buffered until a listener reads them; binary frames (previews) are ignored.
 */
export class ProgressSocket {
  private readonly socket: WebSocket;
  private readonly pending: ComfyMessage[] = [];
  private listener?: (message: ComfyMessage) => void;
  private closeReason?: string;
  private readonly closeWaiters: ((reason: string) => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (raw, isBinary) => {
      if (isBinary) return;
      let message: ComfyMessage;
      try {
        message = JSON.parse(raw.toString());
      } catch {
        return;
      }
      if (!message || typeof message.type !== 'string') return;
      if (this.listener) this.listener(message);
      else this.pending.push(message);
    });
    const closed = (reason: string) => {
      if (this.closeReason !== undefined) return;
      this.closeReason = reason;
      for (const wake of this.closeWaiters.splice(0)) wake(reason);
    };
    socket.on('close', (code) => closed(`closed (code ${code})`));
    socket.on('error', (error) => closed(error.message));
  }

  /** Connects, or rejects with the reason (the caller falls back to polling /history). */
  static open(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProgressSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
      socket.once('open', () => resolve(new ProgressSocket(socket)));
      socket.once('unexpected-response', (_req, res) => {
        reject(new Error(`the server answered HTTP ${res.statusCode} to the WebSocket upgrade`));
        socket.terminate();
      });
      socket.once('error', (error) => reject(error));
    });
  }

  /** Delivers buffered and future messages to `listener`. */
  listen(listener: (message: ComfyMessage) => void): void {
    this.listener = listener;
    for (const message of this.pending.splice(0)) listener(message);
  }

  /** Resolves with the reason once the socket is closed or broken. */
  whenClosed(): Promise<string> {
    if (this.closeReason !== undefined) return Promise.resolve(this.closeReason);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  close(): void {
    this.listener = undefined;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
  }
}
