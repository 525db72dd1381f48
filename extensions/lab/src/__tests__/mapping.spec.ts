import { courseFromService } from '../model';
import { classFromService, meetingsFromService, rosterFromService } from '../teach';

describe('campus records to panel data', () => {
  it('reads my-courses lessons (flat, with locked/completed) into states and unlock meetings', () => {
    const course = courseFromService({
      slug: 'python-intro',
      title: 'Python',
      classes: [{ id: 1, name: 'Python A' }],
      lessons: [
        { slug: 'l1', title: 'One', locked: false, completed: true, exercises_completed: 2 },
        { slug: 'l2', title: 'Two', locked: false, completed: false, exercises_completed: 1 },
        { slug: 'l3', title: 'Three', locked: false, completed: false, exercises_completed: 0 },
        { slug: 'l4', title: 'Four', locked: true, completed: false, exercises_completed: 0 }
      ]
    });
    const lessons = course.sections[0].lessons;
    expect(lessons.map(l => l.state)).toEqual(['completed', 'in_progress', 'unlocked', 'locked']);
    expect(lessons[3].unlock_meeting).toBe(4);
    expect(lessons[0].unlock_meeting).toBeNull();
    expect(course.classes).toEqual([{ id: 1, name: 'Python A' }]);
  });

  it('reads classes, enrollments and attendance rows', () => {
    expect(
      classFromService({ id: 3, name: 'C', course: 'c-fun', total_meetings: 12, meetings_completed: 2, lessons_unlocked: 1 })
    ).toMatchObject({ id: 3, meetings_total: 12, meetings_completed: 2, unlocked_lessons: 1 });
    expect(rosterFromService({ student: 'bob', credits_remaining: 7, attendance_rate: 100 })).toMatchObject({
      user: 'bob',
      credits_remaining: 7,
      attendance_rate: 100
    });
    const meetings = meetingsFromService([
      { meeting_number: 2, student: 'alice', status: 'late' },
      { meeting_number: 1, student: 'alice', status: 'present' },
      { meeting_number: 1, student: 'bob', status: 'absent' }
    ]);
    expect(meetings).toEqual([
      { meeting: 1, records: [{ user: 'alice', status: 'present' }, { user: 'bob', status: 'absent' }] },
      { meeting: 2, records: [{ user: 'alice', status: 'late' }] }
    ]);
  });
});
