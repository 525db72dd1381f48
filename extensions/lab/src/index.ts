/**
 * nbcampus in JupyterLab and Notebook 7: the Campus side panel, the Submit button in the
 * notebook toolbar, commands in the palette, toasts for pushed notifications.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { CampusClient, CampusError } from './api';
import { ClassViewWidget } from './classview';
import { COURSE_VIEW_COMMAND, courseViewPlugin } from './courseview';
import * as ep from './endpoints';
import { registerMediaExercises } from './exercises';
import { lessonNotebookFiles, registerNotebookExams } from './notebookexam';
import { QUIZZES_COMMAND, registerQuizExercises } from './quiz';
import { campusIcon } from './icon';
import { escapeHtml } from './markdown';
import { linkedLessonMessage, whenCoursesLoaded } from './linkedlesson';
import { lessonDir, lessonOfPath, pollInterval } from './model';
import { NotificationPush } from './notifications';
import { CampusPanel, IPanelActions } from './panel';
import { CampusStore, ToastKind } from './store';
import { registerWrittenExercises } from './written';

const PLUGIN_ID = '@nbcampus/lab:plugin';

export namespace CommandIDs {
  export const open = 'nbcampus:open';
  export const refresh = 'nbcampus:refresh';
  export const submit = 'nbcampus:submit-notebook';
  export const openLesson = 'nbcampus:open-lesson';
  export const leaderboard = 'nbcampus:leaderboard';
  export const markAllRead = 'nbcampus:mark-all-read';
  export const classView = 'nbcampus:class-view';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The campus inside JupyterLab: lessons, submit and results, XP, announcements.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    INotebookTracker,
    IDocumentManager,
    ISettingRegistry,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    tracker: INotebookTracker | null,
    docManager: IDocumentManager | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('nbcampus');
    const serverSettings = ServerConnection.makeSettings();
    const contents = app.serviceManager.contents;
    const client = new CampusClient(
      serverSettings.baseUrl,
      (url, init) => ServerConnection.makeRequest(url, init, serverSettings),
      trans
    );
    const toast = (kind: ToastKind, message: string) => {
      Notification[kind](message, { autoClose: kind === 'error' ? false : 6000 });
    };
    const store = new CampusStore(client, toast, trans);
    const waiting = new Map<string, ReturnType<typeof setTimeout>>();

    /** After a submit: the push refreshes the result; a 10 s timer covers a missed push. */
    const watchResult = (course: string, lesson: string, attempts = 30) => {
      const key = store.resultKey(course, lesson);
      clearTimeout(waiting.get(key));
      const result = store.results[key];
      if (!result || result.status === 'graded' || result.status === 'failed' || attempts <= 0) {
        waiting.delete(key);
        return;
      }
      waiting.set(
        key,
        setTimeout(async () => {
          await store.refreshResult(course, lesson);
          watchResult(course, lesson, attempts - 1);
        }, 10_000)
      );
    };

    const ensureDir = async (path: string) => {
      let sofar = '';
      for (const part of path.split('/')) {
        sofar = sofar ? `${sofar}/${part}` : part;
        try {
          await contents.get(sofar, { content: false });
        } catch {
          await contents.save(sofar, { type: 'directory' });
        }
      }
    };

    const exists = async (path: string) => {
      try {
        await contents.get(path, { content: false });
        return true;
      } catch {
        return false;
      }
    };

    const openPath = (path: string) =>
      docManager ? docManager.openOrReveal(path) : app.commands.execute('docmanager:open', { path });

    const actions: IPanelActions = {
      async openLesson(course: string, lesson: string) {
        const dir = lessonDir(course, lesson);
        try {
          const release = await client.get<{ files: Record<string, string> }>(
            'grader',
            ep.grader.releaseFiles(course, lesson)
          );
          const notebooks: string[] = [];
          for (const [name, data] of Object.entries(release.files ?? {})) {
            const path = `${dir}/${name}`;
            if (name.endsWith('.ipynb')) {
              notebooks.push(path);
            }
            // Fetched once: a student's own work is never overwritten.
            if (await exists(path)) {
              continue;
            }
            await ensureDir(path.split('/').slice(0, -1).join('/'));
            await contents.save(path, { type: 'file', format: 'base64', content: data });
          }
          if (!notebooks.length) {
            toast('warning', trans.__('Lesson %1 has no notebooks.', lesson));
            return;
          }
          for (const path of notebooks.sort().reverse()) {
            openPath(path);
          }
        } catch (err) {
          // A timed exam not started yet: its tab, whose start releases the notebook.
          if (err instanceof CampusError && err.code === 'EXAM_NOT_STARTED') {
            notebookExams.open(course, lesson);
            return;
          }
          // Fetched earlier and the grader is away? Open what is in the folder.
          if (err instanceof CampusError && (await exists(dir))) {
            const listing = await contents.get(dir);
            const notebooks = (listing.content as Contents.IModel[]).filter(m => m.type === 'notebook');
            if (notebooks.length) {
              notebooks.forEach(m => openPath(m.path));
              return;
            }
          }
          toast('error', trans.__('Could not open lesson %1: %2', lesson, (err as Error).message));
        }
      },

      async submitLesson(course: string, lesson: string) {
        const dir = lessonDir(course, lesson);
        try {
          // Save what is open in the lesson folder first: the student submits what they see.
          const saving: Promise<void>[] = [];
          tracker?.forEach(panel => {
            if (panel.context.path.startsWith(`${dir}/`) && panel.context.model.dirty) {
              saving.push(panel.context.save());
            }
          });
          await Promise.all(saving);
          // The bytes on disk, as nbgrader would pick them up.
          const files = await lessonNotebookFiles(contents, dir);
          if (!Object.keys(files).length) {
            throw new Error(trans.__('There is no notebook in %1 to submit. Open the lesson first.', dir));
          }
          await store.submit(course, lesson, files);
          watchResult(course, lesson);
        } catch (err) {
          if (!(err instanceof CampusError)) {
            // Errors from the grader are already in the panel and toasted by the store.
            toast('error', trans.__('Could not submit %1: %2', lesson, (err as Error).message));
          }
        }
      },

      openLeaderboard() {
        void app.commands.execute(CommandIDs.leaderboard);
      },

      serviceUrl(service: 'campus' | 'grader', path: string) {
        return client.url(service, path);
      },

      dashboardUrl(classId: number) {
        // A Hub service like the grader's pages: it logs the browser in through the Hub.
        return ep.hubServiceUrl(
          PageConfig.getOption('hubPrefix'),
          PageConfig.getOption('hubHost'),
          'dashboards',
          ep.dashboardPages.klass(classId)
        );
      },

      hubPageUrl(page: 'profile' | 'password') {
        return ep.hubPageUrl(
          PageConfig.getOption('hubPrefix'),
          PageConfig.getOption('hubHost'),
          ep.hubPages[page]
        );
      },

      openCourseView() {
        void app.commands.execute(COURSE_VIEW_COMMAND);
      },

      openClassView(classId?: number) {
        void app.commands.execute(CommandIDs.classView, classId === undefined ? {} : { classId });
      },

      graderPageUrl(path: string) {
        // At the Hub itself: the grader logs the browser in through the Hub (OAuth).
        return ep.hubServiceUrl(
          PageConfig.getOption('hubPrefix'),
          PageConfig.getOption('hubHost'),
          'grader',
          path
        );
      }
    };

    // Material and video exercises open in main-area tabs (exercises.tsx).
    registerMediaExercises(
      {
        add: widget => app.shell.add(widget, 'main'),
        activate: id => app.shell.activateById(id),
        has: id => [...app.shell.widgets('main')].some(w => w.id === id)
      },
      client,
      trans,
      toast
    );
    // Written assignments (text, link or file) open in a tab of their own (written.tsx).
    registerWrittenExercises(
      {
        add: widget => app.shell.add(widget, 'main'),
        activate: id => app.shell.activateById(id),
        has: id => [...app.shell.widgets('main')].some(w => w.id === id)
      },
      client,
      trans,
      toast,
      store
    );
    // Quizzes and timed exams in a tab of their own; the teachers' quiz screen (quiz.tsx).
    const openQuizzes = registerQuizExercises(
      {
        add: widget => app.shell.add(widget, 'main'),
        activate: id => app.shell.activateById(id),
        has: id => [...app.shell.widgets('main')].some(w => w.id === id)
      },
      client,
      trans,
      toast
    );
    app.commands.addCommand(QUIZZES_COMMAND, {
      label: trans.__('Campus: Quizzes and Exams'),
      caption: trans.__('Exam windows, time limits, extra time, score release and results'),
      isEnabled: () => store.isTeacher,
      execute: openQuizzes
    });
    palette?.addItem({ command: QUIZZES_COMMAND, category: trans.__('Campus') });

    // Notebook lessons taken as timed exams: their tab, toolbar timer and saves (notebookexam.tsx).
    const notebookExams = registerNotebookExams(
      {
        add: widget => app.shell.add(widget, 'main'),
        activate: id => app.shell.activateById(id),
        has: id => [...app.shell.widgets('main')].some(w => w.id === id)
      },
      client,
      contents,
      tracker,
      actions,
      trans,
      toast
    );

    const panel = new CampusPanel(store, actions);
    panel.id = 'nbcampus-panel';
    panel.title.icon = campusIcon;
    panel.title.caption = trans.__('Campus');
    panel.node.setAttribute('role', 'region');
    panel.node.setAttribute('aria-label', trans.__('Campus'));
    app.shell.add(panel, 'left', { rank: 50 });
    restorer?.add(panel, 'nbcampus-panel');

    // An LMS launch of a lesson with no notebook to open yet (not unlocked for the class)
    // lands on `lab?nbcampus-lesson=<course>/<lesson>` (the server part's nbcampus/open):
    // show the Campus panel, where the lesson's lock state is.
    const linked = new URLSearchParams(window.location.search).get('nbcampus-lesson');
    if (linked) {
      void app.restored.then(() => {
        app.shell.activateById(panel.id);
        whenCoursesLoaded(store, courses =>
          toast('info', linkedLessonMessage(courses, linked, trans))
        );
      });
    }

    // The unread count rides on the panel's tab (data-unread, drawn by CSS).
    store.subscribe(() => {
      const unread = store.unread;
      panel.title.dataset = { unread: String(unread) };
      panel.title.caption = unread
        ? trans.__('Campus (%1 unread)', unread)
        : trans.__('Campus');
    });

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open the Campus panel'),
      caption: trans.__('Lessons, results, XP and messages'),
      icon: campusIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Campus: Refresh'),
      execute: () => store.refresh()
    });
    app.commands.addCommand(CommandIDs.markAllRead, {
      label: trans.__('Campus: Mark All Messages as Read'),
      isEnabled: () => store.unread > 0,
      execute: () => store.markAllRead()
    });
    app.commands.addCommand(CommandIDs.openLesson, {
      label: args => (args.lesson ? trans.__('Open Lesson %1', args.lesson) : trans.__('Campus: Open Lesson')),
      execute: args => actions.openLesson(String(args.course), String(args.lesson))
    });
    app.commands.addCommand(CommandIDs.submit, {
      label: trans.__('Campus: Submit This Lesson'),
      caption: trans.__('Submit the lesson of the current notebook for grading'),
      isEnabled: () => !!tracker?.currentWidget && !!lessonOfPath(tracker.currentWidget.context.path),
      execute: async () => {
        const current = tracker?.currentWidget;
        const where = current ? lessonOfPath(current.context.path) : null;
        if (!where) {
          toast('warning', trans.__('This notebook is not part of a lesson.'));
          return;
        }
        app.shell.activateById(panel.id);
        await actions.submitLesson(where.course, where.lesson);
      }
    });
    app.commands.addCommand(CommandIDs.classView, {
      label: trans.__('Campus: Class View'),
      caption: trans.__('Roster, meetings, unlocks and announcements of a class you teach'),
      isEnabled: () => store.isTeacher,
      execute: args => openClassView(app, store, actions, trans, args.classId as number | undefined)
    });
    app.commands.addCommand(CommandIDs.leaderboard, {
      label: trans.__('Campus: Class Leaderboard'),
      execute: () => openLeaderboard(app, store, trans)
    });
    if (palette) {
      const category = trans.__('Campus');
      for (const command of Object.values(CommandIDs)) {
        if (command !== CommandIDs.openLesson) {
          palette.addItem({ command, category });
        }
      }
    }

    // The Submit button in the toolbar of every notebook that lives in a lesson folder.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (nbPanel: NotebookPanel) => {
        const button = new ToolbarButton({
          className: 'nbc-submit-button',
          label: trans.__('Submit'),
          tooltip: trans.__('Submit this lesson for grading'),
          onClick: () => {
            const where = lessonOfPath(nbPanel.context.path);
            if (!where) {
              toast('warning', trans.__('This notebook is not part of a lesson.'));
              return;
            }
            app.shell.activateById(panel.id);
            void actions.submitLesson(where.course, where.lesson);
          }
        });
        button.node.setAttribute('aria-label', trans.__('Submit this lesson for grading'));
        const update = () => button.setHidden(!lessonOfPath(nbPanel.context.path));
        nbPanel.context.ready.then(update).catch(() => undefined);
        nbPanel.context.pathChanged.connect(update);
        nbPanel.toolbar.insertAfter('cellType', 'nbcampus-submit', button);
        return button;
      }
    });

    const start = async () => {
      let pollSeconds = 30;
      let openOnStart = true;
      if (settingRegistry) {
        try {
          const settings = await settingRegistry.load(PLUGIN_ID);
          pollSeconds = settings.get('fallbackPollSeconds').composite as number;
          openOnStart = settings.get('openOnStart').composite as boolean;
        } catch (err) {
          console.warn('nbcampus: settings not loaded', err);
        }
      }
      await app.restored;
      if (openOnStart) {
        app.shell.activateById(panel.id);
      }
      await store.refresh();
      if (store.isTeacher && !store.courses?.length) {
        // Instructors land on their classes.
        void app.commands.execute(CommandIDs.classView);
      }
      const push = new NotificationPush({
        // EventSource cannot send the XSRF header the server asks of cookie-authenticated
        // API calls; the query argument is its documented alternative (the server part drops
        // it before forwarding).
        streamUrl: `${client.url('campus', ep.campus.notificationsStream)}?_xsrf=${encodeURIComponent(xsrfToken())}`,
        pollMs: pollInterval(pollSeconds),
        // Without push, one refresh of what events would have refreshed, at the allowed pace.
        poll: () =>
          void Promise.all([store.loadNotifications(), store.loadCourses(), store.loadLevel()]),
        onEvent: (type, data) => {
          void store.loadNotifications();
          let payload: any = {};
          try {
            payload = JSON.parse(data);
          } catch {
            // a bare ping
          }
          const kind = String(payload.type ?? payload.kind ?? type);
          if (kind.includes('unlock') || kind.includes('attendance')) {
            void store.loadCourses();
            void store.loadCredits();
          }
          if (kind.includes('grade')) {
            store.gradeArrived();
            void store.loadCourses();
            for (const key of Object.keys(store.results)) {
              const [course, lesson] = key.split('/');
              void store.refreshResult(course, lesson);
            }
          }
          // XP follows most events (attendance, grades, badges, level-ups).
          void store.loadLevel();
        }
      });
      push.start();
    };
    void start();
  }
};

/** The XSRF token of this Lab page (the cookie jupyter_server sets, or the page config). */
function xsrfToken(): string {
  const match = document.cookie.match('\\b_xsrf=([^;]*)\\b');
  return match ? decodeURIComponent(match[1]) : PageConfig.getOption('xsrfToken') || '';
}

/** The Class view in the main area: one tab, brought forward (and switched) when open. */
function openClassView(
  app: JupyterFrontEnd,
  store: CampusStore,
  actions: IPanelActions,
  trans: any,
  classId?: number
): void {
  const id = 'nbcampus-classview';
  for (const widget of app.shell.widgets('main')) {
    if (widget.id === id) {
      if (classId !== undefined) {
        widget.dispose(); // opened again on the class asked for
        break;
      }
      app.shell.activateById(id);
      return;
    }
  }
  const widget = new MainAreaWidget({ content: new ClassViewWidget(store, actions, classId) });
  widget.id = id;
  widget.title.label = trans.__('Class view');
  widget.title.icon = campusIcon;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
}

/** The class leaderboard in the main area (one click from the panel header). */
async function openLeaderboard(app: JupyterFrontEnd, store: CampusStore, trans: any): Promise<void> {
  const content = new Widget();
  content.addClass('nbc-leaderboard');
  const widget = new MainAreaWidget({ content });
  widget.id = 'nbcampus-leaderboard';
  widget.title.label = trans.__('Leaderboard');
  widget.title.icon = campusIcon;
  const klass = store.courses?.flatMap(c => c.classes ?? [])[0];
  const classId = store.credits?.[0]?.class_id ?? klass?.id;
  if (classId === undefined) {
    content.node.innerHTML = `<p class="nbc-muted">${escapeHtml(trans.__('You are in no class with a leaderboard yet.'))}</p>`;
  } else {
    try {
      const board = await store.client.get<{ entries: { rank: number; display: string; xp: number; me?: boolean }[] }>(
        'campus',
        ep.campus.leaderboard(classId)
      );
      const rows = (board.entries ?? [])
        .map(
          e => `<tr class="${e.me ? 'nbc-me' : ''}"><td>${e.rank}</td><td>${escapeHtml(String(e.display))}</td><td>${e.xp}</td></tr>`
        )
        .join('');
      const heading = escapeHtml(trans.__('Class leaderboard: %1', klass?.name ?? classId));
      content.node.innerHTML = `<h2>${heading}</h2><table class="nbc-table"><thead><tr><th>#</th><th>${escapeHtml(trans.__('Student'))}</th><th>XP</th></tr></thead><tbody>${rows}</tbody></table>`;
    } catch (err) {
      content.node.innerHTML = `<div class="nbc-error" role="alert">${escapeHtml((err as Error).message)}</div>`;
    }
  }
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
}

export default [plugin, courseViewPlugin];
