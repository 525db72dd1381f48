// Manual grading view: save a cell's manual score and comment through the gradebook API.
// Served from the grader's static folder (the page's CSP allows no inline script).
(function () {
  'use strict';
  var body = document.body;

  // A cell's grade form shows the gradebook's answer to a new manual score: the cell's
  // score, the notebook's (moved by as much as the cell's did) and the total. rubric.js
  // calls it too, after a rubric sets the score.
  function showCellScore(form, notebook, out) {
    var shown = form.querySelector('[data-score]');
    if (shown) {
      var nbScore = document.querySelector('[data-nb-score="' + CSS.escape(notebook) + '"]');
      var delta = Number(out.score) - Number(shown.textContent);
      if (nbScore && !isNaN(delta)) {
        nbScore.textContent = String(Math.round((Number(nbScore.textContent) + delta) * 1e6) / 1e6);
      }
      shown.textContent = String(out.score);
    }
    var needs = form.querySelector('[data-needs]');
    if (needs) {
      needs.remove();
    }
    var total = document.getElementById('total');
    if (total && typeof out.total === 'number') {
      total.textContent = String(out.total);
    }
  }
  window.nbcampusGrading = { showCellScore: showCellScore };

  // Keyboard: j/k or Alt+arrows move between students, n to the next cell needing a grade
  // (Alt+n from inside a field). Typing in a field is left alone.
  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.defaultPrevented) {
      return;
    }
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && !event.altKey) {
      return;
    }
    var step = null;
    if ((event.altKey && event.key === 'ArrowRight') || (!event.altKey && event.key === 'j')) {
      step = document.querySelector('a[data-key-next]');
    } else if ((event.altKey && event.key === 'ArrowLeft') || (!event.altKey && event.key === 'k')) {
      step = document.querySelector('a[data-key-prev]');
    } else if (event.key === 'n' || event.key === 'N' || (event.altKey && event.code === 'KeyN')) {
      var forms = Array.prototype.filter.call(document.querySelectorAll('form.grade'), function (f) {
        return f.querySelector('[data-needs]');
      });
      if (!forms.length) {
        return;
      }
      var after = forms.filter(function (f) {
        return target && target.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING && !f.contains(target);
      });
      var form = after.length ? after[0] : forms[0];
      var field = form.querySelector('input, textarea');
      event.preventDefault();
      form.scrollIntoView({ block: 'center' });
      (field || form).focus();
      return;
    }
    if (step) {
      event.preventDefault();
      window.location.href = step.href;
    }
  });

  var api = body.getAttribute('data-api');
  var xsrf = body.getAttribute('data-xsrf');
  var student = body.getAttribute('data-student');
  if (!api) {
    return;
  }

  function path(kind, notebook, cell) {
    return api + kind + '/' + [student, notebook, cell].map(encodeURIComponent).join('/');
  }

  function put(url, data) {
    return fetch(url, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-XSRFToken': xsrf },
      body: JSON.stringify(data)
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var json = null;
        try {
          json = text ? JSON.parse(text) : {};
        } catch (e) {
          json = null;
        }
        if (!resp.ok) {
          var message = json && json.message ? json.message : 'the grader answered ' + resp.status;
          throw new Error(message);
        }
        return json || {};
      });
    });
  }

  function save(form) {
    var status = form.querySelector('.status');
    var notebook = form.getAttribute('data-notebook');
    var cell = form.getAttribute('data-cell');
    var score = form.querySelector('input[name="manual_score"]');
    var comment = form.querySelector('textarea[name="comment"]');
    var button = form.querySelector('button');
    var jobs = [];
    if (score) {
      var raw = score.value.trim();
      var value = raw === '' ? null : Number(raw);
      if (value !== null && (isNaN(value) || value < 0)) {
        status.textContent = 'Error: the score must be a number of at least 0.';
        status.className = 'status error';
        score.focus();
        return;
      }
      jobs.push(
        put(path('grades', notebook, cell), { manual_score: value }).then(function (out) {
          showCellScore(form, notebook, out);
        })
      );
    }
    if (comment) {
      jobs.push(put(path('comments', notebook, cell), { comment: comment.value }));
    }
    button.disabled = true;
    status.textContent = 'Saving…';
    status.className = 'status';
    Promise.all(jobs)
      .then(function () {
        status.textContent = 'Saved.';
        status.className = 'status ok';
      })
      .catch(function (err) {
        status.textContent = 'Error: ' + err.message;
        status.className = 'status error';
      })
      .then(function () {
        button.disabled = false;
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form.grade'), function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      save(form);
    });
  });
})();
