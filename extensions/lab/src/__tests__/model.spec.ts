import {
  courseProgress,
  creditImpact,
  formatScore,
  ICourse,
  identityTrans,
  lessonOfPath,
  levelPercent,
  lockReason,
  normalizeState,
  pollInterval
} from '../model';

const course: ICourse = {
  slug: 'python-intro',
  title: 'Python',
  sections: [
    {
      slug: 's1',
      title: 'Basics',
      lessons: [
        { slug: 'l1', title: 'One', state: 'graded' },
        { slug: 'l2', title: 'Two', state: 'completed' },
        { slug: 'l3', title: 'Three', state: 'in_progress' }
      ]
    },
    { slug: 's2', title: 'More', lessons: [{ slug: 'l4', title: 'Four', state: 'locked' }] }
  ]
};

describe('lessons', () => {
  it('counts completed and graded lessons into the progress bar', () => {
    expect(courseProgress(course)).toEqual({ done: 2, total: 4, percent: 50 });
    expect(courseProgress({ ...course, sections: [] })).toEqual({ done: 0, total: 0, percent: 0 });
  });

  it('normalizes states and locks what it does not know', () => {
    expect(normalizeState('In Progress')).toBe('in_progress');
    expect(normalizeState('GRADED')).toBe('graded');
    expect(normalizeState('exploded')).toBe('locked');
    expect(normalizeState(undefined)).toBe('locked');
  });

  it('says why a lesson is locked', () => {
    const locked = { slug: 'x', title: 'X', state: 'locked' as const };
    expect(lockReason({ ...locked, unlock_meeting: 4 })).toBe('Unlocks after meeting 4');
    expect(lockReason({ ...locked, reason: 'course not published' })).toBe('course not published');
    expect(lockReason(locked, identityTrans)).toBe('Not unlocked for your class yet');
    expect(lockReason({ ...locked, state: 'unlocked' })).toBe('');
  });

  it('finds the lesson of a notebook path', () => {
    expect(lessonOfPath('python-intro/01-hello/greet.ipynb')).toEqual({
      course: 'python-intro',
      lesson: '01-hello',
      exercise: 'greet'
    });
    expect(lessonOfPath('courses/c/l/e.ipynb')?.course).toBe('c');
    expect(lessonOfPath('loose.ipynb')).toBeNull();
    expect(lessonOfPath('a/b/notes.txt')).toBeNull();
  });
});

describe('levels and scores', () => {
  it('computes the way to the next level', () => {
    expect(levelPercent({ xp: 150, level: 2, level_xp: 100, next_level_xp: 200 })).toBe(50);
    expect(levelPercent({ xp: 90, level: 1, level_xp: 100, next_level_xp: 200 })).toBe(0);
    expect(levelPercent({ xp: 5000, level: 30, level_xp: 4000, next_level_xp: null })).toBe(100);
  });

  it('formats scores', () => {
    expect(formatScore(7, 10)).toBe('7 / 10');
    expect(formatScore(7.25, 10)).toBe('7.3 / 10');
    expect(formatScore(null, 10)).toBe('–');
  });
});

describe('attendance', () => {
  it('shows the credit impact before saving: present and late use one, absent none', () => {
    const impact = creditImpact({ alice: 8, bob: 8, carol: 1 }, { alice: 'present', bob: 'absent', carol: 'late' });
    expect(impact).toEqual([
      { user: 'alice', before: 8, after: 7, delta: -1 },
      { user: 'bob', before: 8, after: 8, delta: 0 },
      { user: 'carol', before: 1, after: 0, delta: -1 }
    ]);
  });

  it('gives a credit back when an edit turns present into absent', () => {
    const impact = creditImpact({ alice: 7 }, { alice: 'absent' }, { alice: 'present' });
    expect(impact[0]).toEqual({ user: 'alice', before: 7, after: 8, delta: 1 });
    expect(creditImpact({ bob: 7 }, { bob: 'late' }, { bob: 'present' })[0].delta).toBe(0);
  });
});

describe('polling', () => {
  it('never polls more often than every 10 seconds', () => {
    expect(pollInterval(1)).toBe(10_000);
    expect(pollInterval(0)).toBe(10_000);
    expect(pollInterval(30)).toBe(30_000);
    expect(pollInterval('junk')).toBe(60_000);
  });
});
