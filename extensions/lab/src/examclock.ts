/**
 * The clock every timed exam shows (a quiz's, quiz.tsx, and a notebook's, notebookexam.tsx):
 * the seconds left are the server's `remaining_seconds` counted down with the page's
 * monotonic clock (performance.now), so a wrong system clock neither shortens nor extends
 * an exam on screen; the server alone decides when it ends.
 */
import { useEffect, useRef, useState } from 'react';

/** "m:ss" or "h:mm:ss" of a number of seconds (never negative). */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** The seconds left of an open exam, from the server's figure and the monotonic clock. */
export function useCountdown(remaining: number | null | undefined, onZero: () => void): number | null {
  const [left, setLeft] = useState<number | null>(remaining ?? null);
  const zero = useRef(onZero);
  zero.current = onZero;
  useEffect(() => {
    if (remaining === null || remaining === undefined) {
      setLeft(null);
      return;
    }
    const start = performance.now();
    let fired = false;
    const tick = () => {
      const value = remaining - (performance.now() - start) / 1000;
      setLeft(Math.max(0, value));
      if (value <= 0 && !fired) {
        fired = true;
        // a moment after the deadline: the server has closed the attempt by then
        window.setTimeout(() => zero.current(), 1200);
      }
    };
    tick();
    const timer = window.setInterval(tick, 250);
    return () => window.clearInterval(timer);
  }, [remaining]);
  return left;
}

