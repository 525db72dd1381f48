import { meetingOpen, nextMeeting, shortOfCredits } from '../meetingoffer';
import { creditImpact } from '../model';

describe('the meeting the Teach tab offers', () => {
  it('is the one after the last taken, until every meeting is held', () => {
    expect(nextMeeting([], 3)).toBe(1);
    expect(nextMeeting([1, 2], 3)).toBe(3);
    expect(nextMeeting([1, 2, 3], 3)).toBeNull();
    expect(nextMeeting([1, 2, 3])).toBe(4); // total not known yet: the campus decides
  });

  it('opens a taken meeting for editing, and no meeting past the class', () => {
    expect(meetingOpen(2, [1, 2], 2)).toBe(true);
    expect(meetingOpen(3, [1, 2], 2)).toBe(false);
    expect(meetingOpen(3, [1, 2], 4)).toBe(true);
    expect(meetingOpen(4, [1, 2], 4)).toBe(false); // meeting 3 comes first
  });
});

describe('credits', () => {
  it('names the students a mark would take below zero', () => {
    const impact = creditImpact({ ann: 0, ben: 1, cy: 0 }, { ann: 'present', ben: 'late', cy: 'absent' });
    expect(shortOfCredits(impact)).toEqual(['ann']);
  });
});
