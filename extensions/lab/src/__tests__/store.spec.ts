import { CampusClient } from '../api';
import { CampusStore, ToastKind } from '../store';

type Routes = Record<string, [number, unknown]>;

function storeWith(routes: Routes) {
  const calls: string[] = [];
  const toasts: [ToastKind, string][] = [];
  const client = new CampusClient('/user/alice/', async (url, init) => {
    const path = url.replace('/user/alice/nbcampus/', '');
    calls.push(`${init.method} ${path}`);
    const [status, body] = routes[`${init.method} ${path}`] ?? [404, { code: 'NOT_FOUND', message: 'no such thing' }];
    return new Response(JSON.stringify(body), { status });
  });
  const store = new CampusStore(client, (kind, msg) => toasts.push([kind, msg]));
  return { store, calls, toasts, routes };
}

const COURSES = {
  courses: [
    {
      slug: 'python-intro',
      title: 'Python',
      sections: [{ slug: 's', title: 'S', lessons: [{ slug: 'l1', title: 'L1', state: 'Unlocked' }] }]
    }
  ]
};

describe('CampusStore', () => {
  it('loads every section and normalizes lesson states', async () => {
    const { store } = storeWith({
      'GET campus/api/v1/me': [200, { name: 'alice', role: 'student' }],
      'GET campus/api/v1/me/courses': [200, COURSES],
      'GET campus/api/v1/users/alice/level': [200, { total_xp: 10, level: 1, level_start_xp: 0, next_level_xp: 100, current_streak: 2 }],
      'GET campus/api/v1/badges': [200, { badges: [{ slug: 'first', name: 'First', earned: true }, { slug: 'x', name: 'X', earned: false }] }],
      'GET campus/api/v1/notifications': [200, { notifications: [{ id: 1, title: 'Hi', read: false }] }],
      'GET campus/api/v1/me/credits': [200, { classes: [] }]
    });
    await store.refresh();
    expect(store.loaded).toBe(true);
    expect(store.isTeacher).toBe(false);
    expect(store.courses![0].sections[0].lessons[0].state).toBe('unlocked');
    expect(store.unread).toBe(1);
    expect(store.level).toMatchObject({ xp: 10, level: 1, level_xp: 0, next_level_xp: 100, streak: 2 });
    expect(store.level!.badges!.map(b => b.slug)).toEqual(['first']);
    expect(store.errors).toEqual({});
  });

  it('keeps readable errors per section, and marks missing endpoints unavailable', async () => {
    const { store } = storeWith({
      'GET campus/api/v1/me': [200, { name: 'ian', role: 'student', teaches: [{ class_id: 1, role: 'ta' }] }],
      'GET campus/api/v1/me/courses': [503, { code: 'UNAVAILABLE', message: 'the campus database is down' }]
    });
    await store.refresh();
    expect(store.isTeacher).toBe(true);
    expect(store.errors.courses).toBe('the campus database is down');
    expect(store.unavailable.level).toBe(true);
    expect(store.errors.level).toBeUndefined();
  });

  it('toasts new notifications (celebrations as successes), but not on the first load', async () => {
    const { store, toasts, routes } = storeWith({
      'GET campus/api/v1/notifications': [200, { notifications: [{ id: 1, title: 'Old', read: false }] }]
    });
    await store.loadNotifications(false);
    expect(toasts).toEqual([]);
    routes['GET campus/api/v1/notifications'] = [
      200,
      {
        notifications: [
          { id: 3, type: 'level_up', title: 'Level 2!', read: false },
          { id: 2, type: 'lesson_unlocked', title: 'Lesson 2 unlocked', read: false },
          { id: 1, title: 'Old', read: false }
        ]
      }
    ];
    await store.loadNotifications();
    expect(toasts).toEqual([
      ['success', 'Level 2!'],
      ['info', 'Lesson 2 unlocked']
    ]);
  });

  it('records a failed submit with the service message', async () => {
    const { store } = storeWith({
      'POST grader/api/v1/courses/python-intro/assignments/l9/submissions': [403, { code: 'LOCKED', message: 'l9 is locked: unlocks after meeting 9' }]
    });
    await expect(store.submit('python-intro', 'l9', {})).rejects.toThrow('l9 is locked: unlocks after meeting 9');
    expect(store.results['python-intro/l9']).toMatchObject({ status: 'failed', error: 'l9 is locked: unlocks after meeting 9' });
    expect(store.busy).toEqual({});
  });

  it('marks notifications read', async () => {
    const { store, calls } = storeWith({
      'GET campus/api/v1/notifications': [200, { notifications: [{ id: 7, title: 'x', read: false }] }],
      'POST campus/api/v1/notifications/read/all': [200, { marked_read: 1 }]
    });
    await store.loadNotifications(false);
    await store.markAllRead();
    expect(store.unread).toBe(0);
    expect(calls).toContain('POST campus/api/v1/notifications/read/all');
  });

  it('reads credits per enrollment when the campus has no me/credits', async () => {
    const { store } = storeWith({
      'GET campus/api/v1/me/courses': [
        200,
        { courses: [{ slug: 'py', title: 'Py', lessons: [], classes: [{ id: 4, name: 'Py A', enrollment_id: 9 }] }] }
      ],
      'GET campus/api/v1/enrollments/9/credits': [200, { credits_remaining: 7, meeting_credits: 10, attendance_rate: 87.5 }]
    });
    await store.loadCredits();
    expect(store.credits).toEqual([
      { class_id: 4, class_name: 'Py A', course: 'py', credits_remaining: 7, credits_total: 10, attendance_rate: 87.5 }
    ]);
    expect(store.unavailable.credits).toBeUndefined();
  });

  it('submits, then shows the graded result with per-test outcomes and the XP it earned', async () => {
    const { store, routes, toasts } = storeWith({
      'GET campus/api/v1/me': [200, { name: 'alice', role: 'student' }],
      'GET campus/api/v1/users/alice/level': [200, { total_xp: 20, level: 1 }],
      'POST grader/api/v1/courses/py/assignments/l1/submissions': [202, { id: 'u1', status: 'queued', score: null }]
    });
    await store.refresh();
    const queued = await store.submit('py', 'l1', { 'a.ipynb': 'e30=' });
    expect(queued).toMatchObject({ submission_id: 'u1', status: 'queued' });
    routes['GET grader/api/v1/submissions/u1'] = [
      200,
      {
        id: 'u1',
        status: 'graded',
        score: 2,
        max_score: 3,
        result: {
          notebooks: [
            {
              name: 'a',
              tests: [
                { name: 'test_add', passed: true },
                { name: 'test_hidden', passed: false, hidden: true, error: 'AssertionError' },
                { name: 'explain', passed: null, kind: 'manual' }
              ]
            }
          ]
        }
      }
    ];
    // The grader says "graded" a moment before the campus has recorded the XP ...
    routes['GET campus/api/v1/me/submissions/u1/xp'] = [200, { submission_id: 'u1', xp: 0 }];
    const graded = await store.refreshResult('py', 'l1');
    expect(graded).toMatchObject({ status: 'graded', score: 2, max_score: 3 });
    expect(graded!.xp_earned).toBeUndefined();
    // ... which the next level load (pushed by the campus's "graded" notification) settles,
    // with the XP the campus recorded for this submission: the exercise's 20, not the 25
    // the total grew by (the lesson's completion XP came with it).
    routes['GET campus/api/v1/me/submissions/u1/xp'] = [200, { submission_id: 'u1', xp: 20 }];
    routes['GET campus/api/v1/users/alice/level'] = [200, { total_xp: 45, level: 1 }];
    await store.loadLevel();
    expect(store.results['py/l1'].xp_earned).toBe(20);
    // More XP later (a badge, a streak) is not this result's.
    routes['GET campus/api/v1/users/alice/level'] = [200, { total_xp: 60, level: 1 }];
    await store.loadLevel();
    await store.refreshResult('py', 'l1');
    expect(store.results['py/l1'].xp_earned).toBe(20);
    expect(graded!.tests).toEqual([
      { name: 'test_add', passed: true, message: undefined },
      { name: 'test_hidden', passed: false, message: 'hidden test' }
    ]);
    expect(toasts).toContainEqual(['success', 'l1 graded: 2 / 3']);
    expect(toasts.filter(([, m]) => m.includes('XP'))).toEqual([['success', '+20 XP for l1']]);
  });

  it('shows no XP for a submission that earned none, and never the XP of an earlier one', async () => {
    const { store, routes } = storeWith({
      'GET campus/api/v1/me': [200, { name: 'alice', role: 'student' }],
      'GET campus/api/v1/users/alice/level': [200, { total_xp: 20, level: 1 }],
      'POST grader/api/v1/courses/py/assignments/l1/submissions': [202, { id: 'u1', status: 'queued' }],
      'GET grader/api/v1/submissions/u1': [200, { id: 'u1', status: 'graded', score: 3, max_score: 3 }],
      'GET campus/api/v1/me/submissions/u1/xp': [200, { xp: 20 }]
    });
    await store.refresh();
    await store.submit('py', 'l1', { 'a.ipynb': 'e30=' });
    await store.refreshResult('py', 'l1');
    expect(store.results['py/l1'].xp_earned).toBe(20);
    // the same exercise again: passed before, so this submission earns nothing
    routes['POST grader/api/v1/courses/py/assignments/l1/submissions'] = [202, { id: 'u2', status: 'queued' }];
    routes['GET grader/api/v1/submissions/u2'] = [200, { id: 'u2', status: 'graded', score: 3, max_score: 3 }];
    routes['GET campus/api/v1/me/submissions/u2/xp'] = [200, { xp: 0 }];
    routes['GET campus/api/v1/users/alice/level'] = [200, { total_xp: 50, level: 1 }];
    await store.submit('py', 'l1', { 'a.ipynb': 'e30=' });
    await store.refreshResult('py', 'l1');
    expect(store.results['py/l1']).toMatchObject({ submission_id: 'u2', status: 'graded' });
    expect(store.results['py/l1'].xp_earned).toBeUndefined();
  });
});
