import { linkedLessonMessage, whenCoursesLoaded } from '../linkedlesson';
import type { ICourse } from '../model';

// JupyterLab's nullTranslator substitutes %1 the same way.
const trans = { __: (msg: string, ...args: any[]) => msg.replace(/%(\d)/g, (_m, n) => String(args[Number(n) - 1])) };

const course: ICourse = {
  slug: 'python-intro',
  title: 'Introduction to Python',
  sections: [
    {
      slug: 's',
      title: 'S',
      lessons: [
        { slug: '01-values', title: 'Values and variables', state: 'unlocked' },
        { slug: '03-functions-lists', title: 'Functions and lists', state: 'locked', unlock_meeting: 3 }
      ]
    }
  ]
};

describe('the message of a launch of a linked lesson', () => {
  it('names a locked lesson by its title and says when it opens', () => {
    expect(linkedLessonMessage([course], 'python-intro/03-functions-lists', trans)).toBe(
      '“Functions and lists” (Introduction to Python) is not open yet: it unlocks after meeting 3.'
    );
  });

  it('points to the panel for a lesson that is open', () => {
    expect(linkedLessonMessage([course], 'python-intro/01-values', trans)).toBe(
      '“Values and variables” (Introduction to Python): open it in the Campus panel.'
    );
  });

  it('says so when the student has no class of that course', () => {
    expect(linkedLessonMessage([], 'python-intro/01-values', trans)).toMatch(/not in a class of yours yet/);
    expect(linkedLessonMessage([course], 'python-intro/99-nope', trans)).toMatch(/not in a class of yours yet/);
  });

  it('names the link as it came when the courses could not be read', () => {
    expect(linkedLessonMessage(null, 'python-intro/01-values', trans)).toBe(
      'Lesson python-intro/01-values: see it in the Campus panel.'
    );
  });
});

describe('waiting for the courses', () => {
  it('answers once they are loaded, and only once', () => {
    const listeners = new Set<() => void>();
    const store = {
      courses: null as ICourse[] | null,
      loaded: false,
      subscribe(l: () => void) {
        listeners.add(l);
        return () => listeners.delete(l);
      }
    };
    const got: (ICourse[] | null)[] = [];
    whenCoursesLoaded(store, c => got.push(c));
    listeners.forEach(l => l());
    expect(got).toEqual([]);
    store.courses = [course];
    listeners.forEach(l => l());
    listeners.forEach(l => l());
    expect(got).toEqual([[course]]);
    expect(listeners.size).toBe(0);
  });
});
