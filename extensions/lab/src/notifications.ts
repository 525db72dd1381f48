/**
 * Push for notifications: an EventSource on the campus's notification stream through the
 * server part. When the stream is not there (or keeps failing), fall back to loading the
 * list on a timer that is never shorter than 10 s, and try the stream again later.
 */
import { MIN_POLL_MS } from './model';

export interface IPushOptions {
  streamUrl: string;
  onEvent: (type: string, data: string) => void;
  /** Called on each fallback tick (a reload of the notifications). */
  poll: () => void;
  pollMs: number;
  /** How long to wait before trying the stream again after it failed. */
  retryStreamMs?: number;
  eventSource?: typeof EventSource;
}

export class NotificationPush {
  private source: EventSource | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  connected = false;

  constructor(private readonly options: IPushOptions) {}

  start(): void {
    const ES = this.options.eventSource ?? (typeof EventSource !== 'undefined' ? EventSource : null);
    if (!ES || this.disposed) {
      this.startPolling();
      return;
    }
    const source = new ES(this.options.streamUrl, { withCredentials: true });
    this.source = source;
    source.onopen = () => {
      this.connected = true;
      this.stopPolling();
    };
    source.onmessage = (ev: MessageEvent) => this.options.onEvent('message', String(ev.data));
    for (const type of ['notification', 'announcement', 'graded', 'unlocked', 'badge', 'level']) {
      source.addEventListener(type, ev => this.options.onEvent(type, String((ev as MessageEvent).data)));
    }
    source.onerror = () => {
      // EventSource would reconnect every few seconds by itself; that is polling by another
      // name. Close it; a stream that was open (and ended, e.g. at the proxy's time limit)
      // is reopened after 10 s; one that never opened falls back to polling at the allowed
      // pace, and the stream is tried again later.
      const wasOpen = this.connected;
      this.connected = false;
      source.close();
      this.source = null;
      if (this.retry || this.disposed) {
        return;
      }
      if (!wasOpen) {
        this.startPolling();
      }
      this.retry = setTimeout(
        () => {
          this.retry = null;
          this.start();
        },
        wasOpen ? MIN_POLL_MS : Math.max(this.options.retryStreamMs ?? 60_000, MIN_POLL_MS)
      );
    };
  }

  private startPolling(): void {
    if (!this.timer && !this.disposed) {
      this.timer = setInterval(() => this.options.poll(), Math.max(MIN_POLL_MS, this.options.pollMs));
    }
  }

  private stopPolling(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.stopPolling();
    if (this.retry) {
      clearTimeout(this.retry);
    }
    this.source?.close();
  }
}
