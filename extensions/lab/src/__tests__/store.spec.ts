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
      'GET campus/api/v1/me/level': [200, { xp: 10, level: 1 }],
      'GET campus/api/v1/notifications': [200, { notifications: [{ id: 1, title: 'Hi', read: false }] }],
      'GET campus/api/v1/me/credits': [200, { classes: [] }]
    });
    await store.refresh();
    expect(store.loaded).toBe(true);
    expect(store.isTeacher).toBe(false);
    expect(store.courses![0].sections[0].lessons[0].state).toBe('unlocked');
    expect(store.unread).toBe(1);
    expect(store.errors).toEqual({});
  });

  it('keeps readable errors per section, and marks missing endpoints unavailable', async () => {
    const { store } = storeWith({
      'GET campus/api/v1/me': [200, { name: 'ian', role: 'instructor' }],
      'GET campus/api/v1/me/courses': [503, { code: 'UNAVAILABLE', message: 'the campus database is down' }]
    });
    await store.refresh();
    expect(store.isTeacher).toBe(true);
    expect(store.errors.courses).toBe('the campus database is down');
    expect(store.unavailable.level).toBe(true);
    expect(store.errors.level).toBeUndefined();
  });

  it('toasts new notifications, level-ups and new badges, but not on the first load', async () => {
    const { store, toasts, routes } = storeWith({
      'GET campus/api/v1/notifications': [200, { notifications: [{ id: 1, title: 'Old', read: false }] }],
      'GET campus/api/v1/me/level': [200, { xp: 90, level: 1, badges: [] }]
    });
    await store.loadNotifications(false);
    await store.loadLevel();
    expect(toasts).toEqual([]);
    routes['GET campus/api/v1/notifications'] = [
      200,
      { notifications: [{ id: 2, title: 'Lesson 2 unlocked', read: false }, { id: 1, title: 'Old', read: false }] }
    ];
    routes['GET campus/api/v1/me/level'] = [200, { xp: 120, level: 2, badges: [{ slug: 'first', name: 'First pass' }] }];
    await store.loadNotifications();
    await store.loadLevel();
    expect(toasts).toEqual([
      ['info', 'Lesson 2 unlocked'],
      ['success', 'Level up! You reached level 2.'],
      ['success', 'New badge: First pass']
    ]);
  });

  it('records a failed submit with the service message', async () => {
    const { store } = storeWith({
      'POST grader/api/v1/submissions': [403, { code: 'FORBIDDEN', message: 'lesson l9 is locked for you' }]
    });
    await expect(store.submit('python-intro', 'l9', {})).rejects.toThrow('lesson l9 is locked for you');
    expect(store.results['python-intro/l9']).toMatchObject({ status: 'failed', error: 'lesson l9 is locked for you' });
    expect(store.busy).toEqual({});
  });

  it('marks notifications read', async () => {
    const { store, calls } = storeWith({
      'GET campus/api/v1/notifications': [200, { notifications: [{ id: 7, title: 'x', read: false }] }],
      'POST campus/api/v1/notifications/7/read': [200, { id: 7, read: true }]
    });
    await store.loadNotifications(false);
    await store.markAllRead();
    expect(store.unread).toBe(0);
    expect(calls).toContain('POST campus/api/v1/notifications/7/read');
  });
});
