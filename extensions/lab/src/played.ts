/** What a video player has actually played, for the campus's watch accounting (exercises.tsx). */
/**
 * The ranges the player actually played: a range grows while playback moves forward in
 * small steps; a seek (or any jump) closes it, so skipped parts are never reported.
 */
export class PlayedRanges {
  private pending: [number, number][] = [];
  private current: [number, number] | null = null;

  /** A `timeupdate` while playing: extend the open range, or open one after a jump. */
  tick(time: number, playing: boolean): void {
    if (!playing) {
      this.close();
      return;
    }
    if (this.current && time >= this.current[1] && time - this.current[1] < 1.5) {
      this.current[1] = time;
      return;
    }
    this.close();
    this.current = [time, time];
  }

  close(): void {
    if (this.current && this.current[1] > this.current[0]) {
      this.pending.push(this.current);
    }
    this.current = null;
  }

  /** The played ranges since the last take (the open one continues from where it is). */
  take(): [number, number][] {
    const out = [...this.pending];
    if (this.current && this.current[1] > this.current[0]) {
      out.push([this.current[0], this.current[1]]);
      this.current = [this.current[1], this.current[1]];
    }
    this.pending = [];
    return out.map(([a, b]) => [Math.round(a * 1000) / 1000, Math.round(b * 1000) / 1000]);
  }
}
