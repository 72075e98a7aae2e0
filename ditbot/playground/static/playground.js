// The playground's web client: turns clicks and typing into gestures (POST /playground/api/…)
// and redraws the regions the server sends back. Plain JavaScript, no build step.
"use strict";
(function () {
  const body = document.body;
  let version = Number(body.dataset.version || 0);

  function where() {
    return { as: body.dataset.as, lang: body.dataset.lang, c: body.dataset.c,
             thread: body.dataset.thread || "", mail: body.dataset.mail || "" };
  }

  function toast(text) {
    const box = document.getElementById("toast");
    box.textContent = text || "";
  }

  async function post(gesture, data) {
    const answer = await fetch("/playground/api/" + gesture, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Playground": "1" },
      body: JSON.stringify(Object.assign(where(), data || {})),
    });
    if (!answer.ok) { toast("HTTP " + answer.status); return null; }
    const regions = await answer.json();
    toast(regions.error || "");
    apply(regions);
    return regions;
  }

  // -- what the person typed in a modal, as {block_id: {action_id: value}} ------------------
  function valueOf(el) {
    const kind = el.dataset.kind;
    if (kind === "static_select") {
      const option = el.options[el.selectedIndex];
      return { value: el.value, label: option ? option.textContent : "" };
    }
    if (kind === "external_select") return { value: el.dataset.value || "", label: el.dataset.label || "" };
    if (kind === "radio_buttons") {
      const checked = el.querySelector("input:checked");
      return checked ? checked.value : "";
    }
    if (kind === "checkboxes") return Array.from(el.querySelectorAll("input:checked")).map((i) => i.value);
    return el.value;
  }

  function stateOf(container) {
    const state = {};
    if (!container) return state;
    container.querySelectorAll("[data-block][data-action-id]").forEach((el) => {
      state[el.dataset.block] = state[el.dataset.block] || {};
      state[el.dataset.block][el.dataset.actionId] = valueOf(el);
    });
    return state;
  }

  function restore(container, state) {
    container.querySelectorAll("[data-block][data-action-id]").forEach((el) => {
      const kept = (state[el.dataset.block] || {})[el.dataset.actionId];
      if (kept === undefined) return;
      const kind = el.dataset.kind;
      if (kind === "radio_buttons" || kind === "checkboxes") {
        const chosen = Array.isArray(kept) ? kept : [kept];
        el.querySelectorAll("input").forEach((i) => { i.checked = chosen.includes(i.value); });
      } else if (kind === "external_select") {
        el.dataset.value = kept.value; el.dataset.label = kept.label; el.value = kept.label;
      } else if (kind === "static_select") {
        el.value = kept.value;
      } else {
        el.value = kept;
      }
    });
  }

  // -- redrawing ----------------------------------------------------------------------------
  let lastModal = "";
  let applied = version;
  function apply(regions) {
    if (!regions) return;
    // Answers may arrive out of order (a redraw asked before a gesture, answered after it):
    // what was drawn from an older state of the workspace is dropped.
    if (regions.version < applied) return;
    applied = regions.version;
    if (regions.version) version = Math.max(version, regions.version);
    ["sidebar", "pane"].forEach((name) => {
      const region = document.getElementById(name);
      if (region && regions[name] !== undefined && region.dataset.html !== regions[name]) {
        const composer = region.querySelector("#composer-text");
        const typed = composer ? composer.value : "";
        const focused = document.activeElement && document.activeElement.id === "composer-text";
        region.innerHTML = regions[name];
        region.dataset.html = regions[name];
        const again = region.querySelector("#composer-text");
        if (again && typed) again.value = typed;
        if (again && focused) again.focus();
      }
    });
    const modals = document.getElementById("modals");
    if (regions.modals !== undefined && regions.modals !== lastModal) {
      const before = modals.querySelector(".modal");
      const typed = stateOf(before);
      const openMenus = before ? Array.from(before.querySelectorAll("details")).flatMap((d, i) => (d.open ? [i] : [])) : [];
      const active = document.activeElement;
      const focusedField = before && active && before.contains(active) && active.dataset.block
        ? [active.dataset.block, active.dataset.actionId] : null;
      const beforeId = before ? before.dataset.view : "";
      modals.innerHTML = regions.modals;
      lastModal = regions.modals;
      const after = modals.querySelector(".modal");
      if (after && after.dataset.view === beforeId) {
        // The same modal redrawn (views.update, or another change): keep what a client keeps,
        // the typed values, the open menu and the focus.
        restore(after, typed);
        const menus = after.querySelectorAll("details");
        openMenus.forEach((index) => { if (menus[index]) menus[index].open = true; });
        if (focusedField) {
          const again = after.querySelector(`[data-block="${CSS.escape(focusedField[0])}"][data-action-id="${CSS.escape(focusedField[1])}"]`);
          if (again) again.focus();
        }
      }
      if (after && after.dataset.view !== beforeId) {
        const first = after.querySelector("[aria-invalid=true], input, textarea, select, button");
        if (first) first.focus();
      } else if (after) {
        const wrong = after.querySelector("[aria-invalid=true]");
        if (wrong) wrong.focus();
      }
      body.classList.toggle("has-modal", Boolean(after));
    }
  }

  async function refresh() {
    const query = new URLSearchParams(where());
    const answer = await fetch("/playground/fragment?" + query.toString());
    if (answer.ok) apply(await answer.json());
  }

  async function watch() {
    for (;;) {
      try {
        const answer = await fetch("/playground/changes?since=" + version);
        if (!answer.ok) throw new Error(String(answer.status));
        const seen = (await answer.json()).version;
        if (seen > version) { version = seen; await refresh(); }
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  // -- confirm dialogs -------------------------------------------------------------------------
  function confirmed(el) {
    if (!el.dataset.confirm) return Promise.resolve(true);
    const spec = JSON.parse(el.dataset.confirm);
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-title").textContent = spec.title;
    document.getElementById("confirm-text").innerHTML = spec.text;
    document.getElementById("confirm-ok").textContent = spec.confirm;
    document.getElementById("confirm-ok").className = "btn " + (spec.style || "primary");
    document.getElementById("confirm-deny").textContent = spec.deny;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
      dialog.showModal();
    });
  }

  function surfaceOf(el) {
    const surface = el.closest("[data-surface]");
    const home = el.closest("[data-view]");
    if (home && (!surface || surface.dataset.surface === "view")) {
      const modal = el.closest(".modal");
      return { surface: "view", view: home.dataset.view, state: stateOf(modal || home) };
    }
    if (!surface) return {};
    if (surface.dataset.surface === "ephemeral") return { surface: "ephemeral", ephemeral: surface.dataset.ephemeral };
    return { surface: "message", ts: surface.dataset.ts };
  }

  async function act(el, value, label) {
    const element = JSON.parse(el.dataset.action);
    if (!(await confirmed(el))) return;
    const details = el.closest("details");
    if (details) details.open = false;
    await post("action", Object.assign(surfaceOf(el), { element: element, value: value, label: label }));
  }

  // -- events ----------------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const el = event.target.closest("button, a, li[role=option]");
    if (!el) return;
    if (el.matches("li[role=option]")) { choose(el); return; }
    if (el.dataset.shortcut) { post("shortcut", { ts: el.dataset.shortcut }); return; }
    if (el.dataset.gesture) { post(el.dataset.gesture, {}); return; }
    if (el.dataset.dismiss !== undefined) {
      post("dismiss", { ephemeral: el.dataset.dismiss, refusals: Boolean(el.dataset.refusals) });
      return;
    }
    if (el.hasAttribute("data-close") || el.hasAttribute("data-close-all")) {
      const modal = el.closest(".modal");
      const all = el.hasAttribute("data-close-all");
      flush().then(() => post("close", { view: modal.dataset.view, all: all }));
      return;
    }
    if (el.dataset.action && el.tagName === "BUTTON") {
      event.preventDefault();
      act(el, el.dataset.value, el.textContent.trim());
    } else if (el.dataset.action && el.tagName === "A") {
      act(el); // a link button opens its URL and still tells the app
    }
  });

  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el.matches("select[data-action]") && !el.closest(".bk-input") && el.value) {
      act(el, el.value, el.options[el.selectedIndex].textContent);
    }
    // A select in an input block with `dispatch_action` sends block_actions once chosen.
    if (el.matches(".bk-input select[data-dispatch]")) {
      act(el, el.value, el.options[el.selectedIndex].textContent);
    }
    if (el.matches(".bk-input input[type=datetime-local][data-dispatch], .bk-input input[type=date][data-dispatch]")) {
      act(el, el.value);
    }
    if (el.matches(".identity select")) el.form.requestSubmit();
  });

  // Typing in a `dispatch_action` input: Slack sends it in batches while the person types;
  // what is still waiting goes before a close, as Slack has it by then.
  const pending = new Map();
  async function flush() {
    const waiting = Array.from(pending.entries());
    pending.clear();
    for (const [el, timer] of waiting) { clearTimeout(timer); await act(el, el.value); }
  }
  document.addEventListener("input", (event) => {
    const el = event.target;
    if (el.matches("[data-dispatch~=on_character_entered]")) {
      clearTimeout(pending.get(el));
      pending.set(el, setTimeout(() => { pending.delete(el); act(el, el.value); }, 400));
    }
    if (el.closest(".external") && el.matches("input[role=combobox]")) suggest(el);
  });

  document.addEventListener("keydown", (event) => {
    const el = event.target;
    if (event.key === "Enter" && el.matches("input[data-dispatch~=on_enter_pressed]")) {
      event.preventDefault();
      act(el, el.value);
    }
    if (event.key === "Escape" && body.classList.contains("has-modal") && !document.getElementById("confirm").open) {
      const modal = document.querySelector(".modal");
      if (modal) flush().then(() => post("close", { view: modal.dataset.view, all: true }));
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("[data-composer]")) {
      event.preventDefault();
      const input = form.querySelector("input[name=text]");
      const text = input.value;
      input.value = "";
      post("message", { text: text });
    } else if (form.matches("[data-modal]")) {
      event.preventDefault();
      const modal = form.closest(".modal");
      pending.forEach((timer) => clearTimeout(timer));
      pending.clear();
      post("submit", { view: modal.dataset.view, state: stateOf(modal) });
    } else if (form.matches(".identity")) {
      event.preventDefault();
      const data = new FormData(form);
      body.dataset.as = data.get("as");
      body.dataset.lang = data.get("lang");
      post("identity", {}).then(() => {
        window.location.href = "/playground?" + new URLSearchParams({ as: data.get("as"), lang: data.get("lang"), c: data.get("c") });
      });
    }
  });

  // -- external selects: options from ditbot's options endpoint, as Slack asks for them ----------
  const asked = new WeakMap();
  function suggest(input) {
    const box = input.closest(".external");
    const list = box.querySelector("[role=listbox]");
    input.dataset.value = ""; input.dataset.label = "";
    if (input.value.length < Number(box.dataset.min || 3)) { list.hidden = true; input.setAttribute("aria-expanded", "false"); return; }
    clearTimeout(asked.get(input));
    asked.set(input, setTimeout(async () => {
      const modal = input.closest(".modal");
      const answer = await post("options", {
        view: modal ? modal.dataset.view : null, block_id: input.dataset.block,
        action_id: input.dataset.actionId, value: input.value,
      });
      const options = (answer && answer.options) || [];
      list.innerHTML = "";
      options.forEach((option, index) => {
        const item = document.createElement("li");
        item.setAttribute("role", "option");
        item.id = input.id + "-o" + index;
        item.tabIndex = -1;
        item.dataset.value = option.value;
        item.textContent = option.text.text;
        list.appendChild(item);
      });
      list.hidden = options.length === 0;
      input.setAttribute("aria-expanded", String(options.length > 0));
    }, 250));
  }

  function choose(item) {
    const box = item.closest(".external");
    const input = box.querySelector("input[role=combobox]");
    input.value = item.textContent;
    input.dataset.value = item.dataset.value;
    input.dataset.label = item.textContent;
    box.querySelector("[role=listbox]").hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.focus();
    if (input.hasAttribute("data-dispatch")) act(input, item.dataset.value, item.textContent);
  }

  // -- start ------------------------------------------------------------------------------------
  // The regions as the server wrote them (the browser's innerHTML differs in form only).
  const first = JSON.parse(document.getElementById("regions").textContent);
  ["sidebar", "pane"].forEach((name) => {
    const region = document.getElementById(name);
    if (region) region.dataset.html = first[name];
  });
  lastModal = first.modals;
  body.classList.toggle("has-modal", Boolean(document.querySelector(".modal")));
  if (body.dataset.c === "home") post("home", {});
  watch();
})();
