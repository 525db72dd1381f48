import { PlayedRanges } from '../played';

describe('PlayedRanges', () => {
  it('reports what was played, not what was skipped by a seek', () => {
    const r = new PlayedRanges();
    for (const t of [0, 0.25, 0.5, 1, 1.25, 2]) {
      r.tick(t, true);
    }
    r.close(); // seeking
    for (const t of [8, 8.5, 9]) {
      r.tick(t, true);
    }
    expect(r.take()).toEqual([
      [0, 2],
      [8, 9]
    ]);
    // the open range goes on from where the last take left it
    r.tick(9.5, true);
    expect(r.take()).toEqual([[9, 9.5]]);
  });

  it('treats a jump forward while playing as a seek, and a pause as an end', () => {
    const r = new PlayedRanges();
    r.tick(0, true);
    r.tick(1, true);
    r.tick(30, true); // jumped without a seeking event
    r.tick(31, true);
    r.tick(31.5, false); // paused
    expect(r.take()).toEqual([
      [0, 1],
      [30, 31]
    ]);
    expect(r.take()).toEqual([]);
  });
});
