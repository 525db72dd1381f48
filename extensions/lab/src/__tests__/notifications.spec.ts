import { NotificationPush } from '../notifications';

class FakeSource {
  static last: FakeSource;
  onopen: (() => void) | null = null;
  onmessage: ((ev: any) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  listeners: Record<string, (ev: any) => void> = {};
  constructor(readonly url: string) {
    FakeSource.last = this;
  }
  addEventListener(type: string, fn: (ev: any) => void) {
    this.listeners[type] = fn;
  }
  close() {
    this.closed = true;
  }
}

describe('NotificationPush', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('passes pushed events on and does not poll while the stream is open', () => {
    const events: string[] = [];
    const poll = jest.fn();
    const push = new NotificationPush({
      streamUrl: '/s',
      onEvent: (t, d) => events.push(`${t}:${d}`),
      poll,
      pollMs: 1000,
      eventSource: FakeSource as any
    });
    push.start();
    FakeSource.last.onopen!();
    FakeSource.last.listeners['graded']({ data: '{"lesson":"l1"}' });
    FakeSource.last.onmessage!({ data: 'x' });
    jest.advanceTimersByTime(60_000);
    expect(events).toEqual(['graded:{"lesson":"l1"}', 'message:x']);
    expect(poll).not.toHaveBeenCalled();
    push.dispose();
    expect(FakeSource.last.closed).toBe(true);
  });

  it('falls back to polling no more than every 10 s when the stream fails', () => {
    const poll = jest.fn();
    const push = new NotificationPush({ streamUrl: '/s', onEvent: () => undefined, poll, pollMs: 1000, eventSource: FakeSource as any });
    push.start();
    const first = FakeSource.last;
    first.onerror!();
    expect(first.closed).toBe(true);
    jest.advanceTimersByTime(9_999);
    expect(poll).toHaveBeenCalledTimes(0);
    jest.advanceTimersByTime(50_001);
    expect(poll).toHaveBeenCalledTimes(6);
    // and it tried the stream again after a minute
    expect(FakeSource.last).not.toBe(first);
    push.dispose();
  });

  it('reopens a stream that ended after 10 s, without polling', () => {
    const poll = jest.fn();
    const push = new NotificationPush({ streamUrl: '/s', onEvent: () => undefined, poll, pollMs: 1000, eventSource: FakeSource as any });
    push.start();
    const first = FakeSource.last;
    first.onopen!();
    first.onerror!();
    jest.advanceTimersByTime(9_999);
    expect(FakeSource.last).toBe(first);
    jest.advanceTimersByTime(1);
    expect(FakeSource.last).not.toBe(first);
    expect(poll).not.toHaveBeenCalled();
    push.dispose();
  });
});
