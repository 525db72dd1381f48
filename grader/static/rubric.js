// Grading aids on the grading page: rubrics (edit, tick, apply), the comment bank, line
// comments and the student's extension, through the grader API (handlers/rubric.py).
// Served from the grader's static folder (the page's CSP allows no inline script).
(function () {
  'use strict';
  var body = document.body;
  var api = body.getAttribute('data-api');
  var xsrf = body.getAttribute('data-xsrf');
  var student = body.getAttribute('data-student');
  if (!api) {
    return;
  }
  var enc = encodeURIComponent;

  function call(method, url, data) {
    var init = {
      method: method,
      credentials: 'same-origin',
      headers: { 'X-XSRFToken': xsrf }
    };
    if (data !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(data);
    }
    return fetch(api + url, init).then(function (resp) {
      return resp.text().then(function (text) {
        var json = null;
        try {
          json = text ? JSON.parse(text) : {};
        } catch (e) {
          json = null;
        }
        if (!resp.ok) {
          var err = new Error(json && json.message ? json.message : 'the grader answered ' + resp.status);
          err.field = json && json.details ? json.details.field : undefined;
          throw err;
        }
        return json || {};
      });
    });
  }

  function say(el, text, kind) {
    if (el) {
      el.textContent = text;
      el.className = 'status' + (kind ? ' ' + kind : '') + (el.classList.contains('field-error') ? ' field-error' : '');
    }
  }

  function section(el) {
    return el.closest('section.aids');
  }

  // The grade form of the same cell shows the new score (grading.js's showCellScore).
  function showScore(aids, out) {
    var article = aids.closest('article');
    var form = article && article.querySelector('form.grade');
    if (!form) {
      return;
    }
    var input = form.querySelector('input[name="manual_score"]');
    if (input) {
      input.value = out.manual_score === null ? '' : String(out.manual_score);
    }
    window.nbcampusGrading.showCellScore(form, aids.getAttribute('data-notebook'), out);
  }

  function cellPath(aids) {
    return enc(aids.getAttribute('data-notebook')) + '/' + enc(aids.getAttribute('data-cell'));
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest('button');
    if (!button) {
      return;
    }
    var aids = section(button);
    if (button.hasAttribute('data-apply-rubric')) {
      var ids = Array.prototype.map.call(aids.querySelectorAll('input[name="rubric"]:checked'), function (box) {
        return Number(box.value);
      });
      var status = button.parentNode.querySelector('.status');
      say(status, 'Saving…');
      call('PUT', 'marks/' + enc(student) + '/' + cellPath(aids), { items: ids })
        .then(function (out) {
          showScore(aids, out);
          say(status, 'Applied: ' + out.manual_score + ' points.', 'ok');
        })
        .catch(function (err) {
          say(status, 'Error: ' + err.message, 'error');
        });
    } else if (button.hasAttribute('data-add-row')) {
      var tbody = button.closest('form').querySelector('tbody');
      var last = tbody.lastElementChild;
      var row = last.cloneNode(true);
      row.removeAttribute('data-id');
      Array.prototype.forEach.call(row.querySelectorAll('input'), function (input) {
        input.value = '';
      });
      tbody.appendChild(row);
      row.querySelector('input').focus();
    } else if (button.hasAttribute('data-remove-row')) {
      button.closest('tr').remove();
    } else if (button.hasAttribute('data-bank-insert')) {
      var bank = button.closest('.bank');
      var chosen = bank.querySelector('select').value;
      var source = bank.querySelector('template[data-bank-texts]');
      var span = chosen && source ? source.content.querySelector('[data-id="' + CSS.escape(chosen) + '"]') : null;
      var area = aids.closest('article').querySelector('textarea[name="comment"]');
      if (!span || !area) {
        say(bank.querySelector('.status'), 'Pick a saved comment first.', 'error');
        return;
      }
      area.value = area.value.trim() ? area.value.replace(/\s+$/, '') + '\n' + span.textContent : span.textContent;
      area.focus();
      say(bank.querySelector('.status'), 'Inserted: save the grade to give it.', 'ok');
    } else if (button.hasAttribute('data-bank-save')) {
      var box = button.closest('.bank');
      var text = aids.closest('article').querySelector('textarea[name="comment"]');
      call('POST', 'comment-bank', { text: text ? text.value : '' })
        .then(function (out) {
          // Every cell's picker offers the new comment.
          Array.prototype.forEach.call(document.querySelectorAll('.bank'), function (b) {
            var option = document.createElement('option');
            option.value = String(out.id);
            option.textContent = out.text.length < 90 ? out.text : out.text.slice(0, 87) + '…';
            b.querySelector('select').appendChild(option);
            var holder = document.createElement('span');
            holder.setAttribute('data-id', String(out.id));
            holder.textContent = out.text;
            b.querySelector('template[data-bank-texts]').content.appendChild(holder);
          });
          say(box.querySelector('.status'), 'Saved for reuse.', 'ok');
        })
        .catch(function (err) {
          say(box.querySelector('.status'), 'Error: ' + err.message, 'error');
        });
    } else if (button.hasAttribute('data-delete-note')) {
      call('DELETE', 'line-comments/' + enc(student) + '/' + enc(button.getAttribute('data-delete-note')))
        .then(function () {
          window.location.reload();
        })
        .catch(function (err) {
          button.textContent = 'Error: ' + err.message;
        });
    } else if (button.hasAttribute('data-withdraw')) {
      var ext = button.closest('form');
      call('DELETE', 'extensions/' + enc(student))
        .then(function () {
          window.location.reload();
        })
        .catch(function (err) {
          say(ext.querySelector('#due-error'), 'Error: ' + err.message, 'error');
        });
    }
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    var aids = section(form);
    var status = form.querySelector('.status');
    if (form.classList.contains('rubric-edit')) {
      event.preventDefault();
      var items = [];
      Array.prototype.forEach.call(form.querySelectorAll('tbody tr'), function (row) {
        var label = row.querySelector('input[name="label"]').value.trim();
        var points = row.querySelector('input[name="points"]').value.trim();
        if (!label && !points) {
          return; // an empty row is left out
        }
        var item = { label: label, points: Number(points) };
        if (row.getAttribute('data-id')) {
          item.id = Number(row.getAttribute('data-id'));
        }
        items.push(item);
      });
      var pointsFields = form.querySelectorAll('input[name="points"]');
      Array.prototype.forEach.call(pointsFields, function (input) {
        input.removeAttribute('aria-invalid');
      });
      say(status, 'Saving…');
      call('PUT', 'rubric/' + cellPath(aids), { items: items })
        .then(function () {
          window.location.reload();
        })
        .catch(function (err) {
          // The message goes beside the field it is about (the points, say).
          var field = err.field === 'label' ? 'label' : 'points';
          Array.prototype.forEach.call(form.querySelectorAll('input[name="' + field + '"]'), function (input) {
            input.setAttribute('aria-invalid', 'true');
          });
          say(status, 'Error: ' + err.message, 'error');
        });
    } else if (form.classList.contains('line-comment')) {
      event.preventDefault();
      var line = Number(form.querySelector('input[name="line"]').value);
      var text = form.querySelector('input[name="text"]').value;
      say(status, 'Saving…');
      call('POST', 'line-comments/' + enc(student), {
        notebook: aids.getAttribute('data-notebook'),
        cell: aids.getAttribute('data-cell'),
        line: line,
        text: text
      })
        .then(function () {
          window.location.reload();
        })
        .catch(function (err) {
          say(status, 'Error: ' + err.message, 'error');
        });
    } else if (form.classList.contains('extension')) {
      event.preventDefault();
      var raw = form.querySelector('input[name="due_at"]').value;
      var out = form.querySelector('#due-error');
      if (!raw) {
        say(out, 'Error: pick the new due date.', 'error');
        return;
      }
      call('PUT', 'extensions/' + enc(student), {
        due_at: raw.length === 16 ? raw + ':00+00:00' : raw + '+00:00',
        reason: form.querySelector('input[name="reason"]').value
      })
        .then(function () {
          window.location.reload();
        })
        .catch(function (err) {
          say(out, 'Error: ' + err.message, 'error');
        });
    }
  });
})();
