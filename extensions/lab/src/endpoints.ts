/**
 * The service paths the panel uses, in one place (relative to each service's api/v1/).
 */
const q = encodeURIComponent;

export const campus = {
  me: 'me',
  myCourses: 'me/courses',
  submissionXp: (id: string) => `me/submissions/${q(id)}/xp`,
  level: (user: string) => `users/${q(user)}/level`,
  badges: 'badges',
  myCredits: 'me/credits',
  credits: (enrollment: number) => `enrollments/${q(String(enrollment))}/credits`,
  notifications: 'notifications',
  notificationsStream: 'notifications/stream',
  readNotification: (id: number | string) => `notifications/read/${q(String(id))}`,
  readAllNotifications: 'notifications/read/all',
  leaderboard: (classId: number) => `leaderboard?class=${q(String(classId))}`,
  classes: 'classes',
  taughtClasses: 'classes?teaching=1',
  klass: (id: number) => `classes/${q(String(id))}`,
  enrollments: (id: number) => `classes/${q(String(id))}/enrollments`,
  unlockLesson: (id: number) => `classes/${q(String(id))}/unlock-lesson`,
  attendance: (id: number) => `classes/${q(String(id))}/attendance`,
  attendanceMeeting: (id: number, meeting: number) =>
    `classes/${q(String(id))}/attendance/${q(String(meeting))}`,
  announcements: 'announcements'
};

export const grader = {
  releaseFiles: (course: string, lesson: string) =>
    `courses/${q(course)}/assignments/${q(lesson)}/files`,
  submissions: (course: string, lesson: string) =>
    `courses/${q(course)}/assignments/${q(lesson)}/submissions`,
  submission: (id: string) => `submissions/${q(id)}`
};

/** The dashboards service's pages (Voila, relative to its root), opened in a browser tab. */
export const dashboardPages = {
  klass: (classId: number) => `voila/render/instructor.ipynb?class=${encodeURIComponent(String(classId))}`
};

/** The grader's own pages (relative to the service's root), opened in a browser tab. */
export const graderPages = {
  grading: (course: string) => `courses/${q(course)}/grading`,
  feedback: (id: string) => `api/v1/submissions/${q(id)}/feedback`
};

/**
 * A page of a Hub service from the Lab page's `hubPrefix` (`<base>/hub/`) and `hubHost`:
 * `<hubHost><base>/services/<service>/<path>`. Null when the Lab runs without a Hub.
 */
export function hubServiceUrl(
  hubPrefix: string,
  hubHost: string,
  service: string,
  path: string
): string | null {
  if (!hubPrefix) {
    return null;
  }
  const prefix = hubPrefix.endsWith('/') ? hubPrefix : hubPrefix + '/';
  const base = prefix.replace(/hub\/$/, '');
  return `${hubHost.replace(/\/+$/, '')}${base}services/${q(service)}/${path.replace(/^\/+/, '')}`;
}

/** The Hub's own account pages (relative to `<base>/hub/`), opened in a browser tab. */
export const hubPages = {
  profile: 'profile',
  password: 'password'
};

/**
 * A page of the Hub itself: `<hubHost><hubPrefix><path>`. Null when the Lab runs without a Hub.
 */
export function hubPageUrl(hubPrefix: string, hubHost: string, path: string): string | null {
  if (!hubPrefix) {
    return null;
  }
  const prefix = hubPrefix.endsWith('/') ? hubPrefix : hubPrefix + '/';
  return `${hubHost.replace(/\/+$/, '')}${prefix}${path.replace(/^\/+/, '')}`;
}
