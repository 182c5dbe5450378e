// The Keel console's only script: live updates and a JSON check. Every page
// works without it (forms post and redirect). Elements with data-live="URL"
// are re-fetched every few seconds:
//  - inside it, each data-part is updated on its own: a data-keyed list
//    (the inbox) is merged by data-id (new items appear, gone ones
//    disappear, an item being read or edited is left as it is), any other
//    part is replaced when it changed and nobody is using it;
//  - a live element without parts is replaced as a whole, under the same
//    condition (no focus and no edited field inside it).
// A 401 means the session ended: updates stop and the page says so.
'use strict';
(function () {
  const every = 3000;
  const status = document.getElementById('live-status');

  function say(text, stale) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle('stale', !!stale);
  }

  function edited(root) {
    for (const el of root.querySelectorAll('input, textarea, select')) {
      if (el.type === 'hidden') continue;
      if (el.tagName === 'SELECT') {
        for (const o of el.options) if (o.selected !== o.defaultSelected) return true;
      } else if (el.value !== el.defaultValue) return true;
    }
    return root.querySelector('details[open]') !== null;
  }

  function busy(root) { return root.contains(document.activeElement) && document.activeElement !== document.body; }

  function mergeKeyed(oldList, newList) {
    const fresh = new Map();
    for (const el of newList.children) if (el.dataset.id) fresh.set(el.dataset.id, el);
    for (const el of [...oldList.children]) {
      if (el.dataset.id && !fresh.has(el.dataset.id)) el.remove();
    }
    let prev = null;
    for (const [id, el] of fresh) {
      let cur = [...oldList.children].find((c) => c.dataset.id === id);
      if (!cur) {
        cur = el;
        if (prev) prev.after(cur); else oldList.prepend(cur);
      }
      prev = cur;
    }
  }

  function apply(target, html) {
    const tpl = document.createElement('template');
    tpl.innerHTML = html;
    const parts = target.querySelectorAll('[data-part]');
    if (parts.length) {
      for (const old of parts) {
        const next = tpl.content.querySelector('[data-part="' + old.dataset.part + '"]');
        if (!next) continue;
        if (old.hasAttribute('data-keyed')) mergeKeyed(old, next);
        else if (!busy(old) && !edited(old) && old.innerHTML !== next.innerHTML) old.innerHTML = next.innerHTML;
      }
      return;
    }
    if (busy(target) || edited(target)) return;
    if (target.innerHTML !== tpl.innerHTML) target.innerHTML = tpl.innerHTML;
  }

  let stopped = false;
  async function refresh(target) {
    if (stopped) return;
    try {
      const res = await fetch(target.dataset.live, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } });
      if (res.status === 401) {
        stopped = true;
        say('Your session has ended: reload the page to sign in again.', true);
        return;
      }
      if (!res.ok) { say('Live updates paused: the node answered ' + res.status + '.', true); return; }
      apply(target, await res.text());
      say('');
    } catch (e) {
      say('Live updates paused: the node cannot be reached.', true);
    }
  }

  function tick() {
    if (document.hidden) return;
    document.querySelectorAll('[data-live]').forEach(refresh);
  }
  if (document.querySelector('[data-live]')) setInterval(tick, every);

  // Edited arguments must be a JSON object: say so before posting.
  document.addEventListener('input', (ev) => {
    const el = ev.target;
    if (!(el instanceof HTMLTextAreaElement) || !el.hasAttribute('data-json')) return;
    let ok = false;
    try { const v = JSON.parse(el.value); ok = v !== null && typeof v === 'object' && !Array.isArray(v); } catch (e) { ok = false; }
    el.setAttribute('aria-invalid', ok ? 'false' : 'true');
    el.setCustomValidity(ok ? '' : 'Write a JSON object, like {"amount": 200}');
  });
})();
