// Ferrodesk: the requester box of the new ticket form searches people as the agent types.
// Without this script the typed name or address is looked up when the form is sent.
// The ARIA combobox pattern: the box owns a listbox of matches (GET /agent/people?q=,
// options rendered and escaped by the server); arrows move, Enter or a click picks,
// Escape closes. Picking fills the hidden `requester_pick` with the person's id.
(function () {
  'use strict';

  function setup(input) {
    var form = input.form;
    var list = document.createElement('ul');
    list.id = input.id + '-list';
    list.className = 'combo-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', 'People matching ' + (input.labels && input.labels[0] ? input.labels[0].textContent : 'the box'));
    list.hidden = true;
    input.insertAdjacentElement('afterend', list);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    var timer = null;
    var active = -1;
    var asked = 0;

    function pickField() {
      var f = form.querySelector('input[type=hidden][name=requester_pick]');
      if (!f) {
        f = document.createElement('input');
        f.type = 'hidden';
        f.name = 'requester_pick';
        form.appendChild(f);
      }
      return f;
    }
    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role=option][data-id]'));
    }
    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }
    function highlight(i) {
      var opts = options();
      opts.forEach(function (o, j) { o.setAttribute('aria-selected', j === i ? 'true' : 'false'); });
      active = i;
      if (i >= 0 && opts[i]) {
        input.setAttribute('aria-activedescendant', opts[i].id);
        opts[i].scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }
    function choose(o) {
      input.value = o.getAttribute('data-label');
      pickField().value = o.getAttribute('data-id');
      // Several matches were listed as radio buttons: the pick replaces them.
      var radios = document.getElementById(input.id + '-choices');
      if (radios) { radios.remove(); }
      close();
    }
    function search() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      var mine = ++asked;
      fetch(input.getAttribute('data-search') + '?q=' + encodeURIComponent(q), {
        credentials: 'same-origin',
        headers: { Accept: 'text/html' }
      })
        .then(function (r) { return r.ok ? r.text() : ''; })
        .then(function (html) {
          if (mine !== asked) { return; }
          list.innerHTML = html;
          list.hidden = false;
          input.setAttribute('aria-expanded', 'true');
          active = -1;
        })
        .catch(close);
    }

    input.addEventListener('input', function () {
      pickField().value = '';
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener('keydown', function (e) {
      var opts = options();
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        if (list.hidden) { search(); return; }
        highlight(Math.min(active + 1, opts.length - 1));
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (e.key === 'Enter' && !list.hidden && active >= 0 && opts[active]) {
        e.preventDefault();
        choose(opts[active]);
      } else if (e.key === 'Escape') {
        close();
      }
    });
    // Keep the focus in the box while a match is clicked.
    list.addEventListener('mousedown', function (e) { e.preventDefault(); });
    list.addEventListener('click', function (e) {
      var o = e.target.closest('[role=option][data-id]');
      if (o) { choose(o); }
    });
    input.addEventListener('blur', function () { setTimeout(close, 150); });
  }

  document.querySelectorAll('input[data-search]').forEach(setup);
})();
