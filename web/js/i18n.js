// The pages' words in English and Vietnamese. Every string a person sees (text, labels,
// aria-labels, placeholders, titles, statuses, errors) comes from one catalogue per language,
// web/i18n/<lang>.js: a flat object of "area.name" keys to text with {placeholders}.
//
// Which language: the one picked with the switcher (#language, kept in localStorage under
// liveroom.lang), else the first of navigator.languages that is Vietnamese (vi*) or English
// (en*), else English. <html lang> follows.
//
// In HTML: <h2 data-i18n="lobby.create_heading"></h2>; attributes with
// data-i18n-aria-label / data-i18n-placeholder / data-i18n-title / data-i18n-alt="key". In code: t(key, params),
// or setText(el, key, params) so the element follows a later language switch. A key missing
// from the current catalogue falls back to English, then to the key itself (which the e2e
// tests look for); misses are listed in window.__i18nMissing.

import en from "../i18n/en.js";
import vi from "../i18n/vi.js";

export const CATALOGUES = Object.freeze({ en, vi });

// Each language named in itself, as language pickers do (not translated on purpose).
export const LANGUAGES = Object.freeze([
  { code: "en", name: "English" },
  { code: "vi", name: "Tiếng Việt" },
]);

const STORAGE_KEY = "liveroom.lang";
// Object.hasOwn is too new for some phones still in use (iOS < 15.4).
const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const ATTRIBUTES = ["aria-label", "placeholder", "title", "alt"];

const missing = [];
const listeners = new Set();

// The language from a list of BCP 47 tags (navigator.languages): the first vi* or en*.
export function languageFromTags(tags) {
  for (const tag of tags || []) {
    const base = String(tag).toLowerCase().split(/[-_]/)[0];
    if (base === "vi") return "vi";
    if (base === "en") return "en";
  }
  return "en";
}

function storedLanguage() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    return saved && own(CATALOGUES, saved) ? saved : null;
  } catch {
    return null; // storage disabled: the browser's languages decide
  }
}

function browserLanguage() {
  const nav = globalThis.navigator;
  if (!nav) return "en";
  return languageFromTags(nav.languages && nav.languages.length ? nav.languages : [nav.language]);
}

let lang = storedLanguage() || browserLanguage();

export function currentLanguage() {
  return lang;
}

export function hasKey(key) {
  return own(CATALOGUES[lang], key) || own(en, key);
}

// The text of `key` in the current language with {name} replaced by params.name (a function
// is called, so a nested message follows the language at the time of rendering).
export function t(key, params) {
  let text = CATALOGUES[lang][key];
  if (text === undefined) {
    missing.push(`${lang}:${key}`);
    text = own(en, key) ? en[key] : key;
  }
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!own(params, name)) return whole;
    const value = params[name];
    return String(typeof value === "function" ? value() : value);
  });
}

// Numbers as the language writes them ("1.5" / "1,5").
export function formatNumber(value, options) {
  return new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-US", options).format(value);
}

export function formatDate(date) {
  return new Date(date).toLocaleDateString(lang === "vi" ? "vi-VN" : "en-GB");
}

// Sets `el`'s text to t(key, params) and remembers both, so applyTranslations() redoes it.
export function setText(el, key, params) {
  if (!el) return;
  el.dataset.i18n = key;
  if (params) el.__i18nParams = params;
  else delete el.__i18nParams;
  const text = t(key, params);
  if (el.textContent !== text) el.textContent = text;
}

// Sets `el`'s text to something that is not translated (a room's title, a host's name).
export function setPlainText(el, text) {
  if (!el) return;
  delete el.dataset.i18n;
  delete el.__i18nParams;
  if (el.textContent !== text) el.textContent = text;
}

// Like setText for an attribute (aria-label, placeholder, title, alt).
export function setAttr(el, attribute, key, params) {
  if (!el) return;
  el.setAttribute(`data-i18n-${attribute}`, key);
  if (params) {
    el.__i18nAttrParams = el.__i18nAttrParams || {};
    el.__i18nAttrParams[attribute] = params;
  }
  else if (el.__i18nAttrParams) delete el.__i18nAttrParams[attribute];
  const text = t(key, params);
  if (el.getAttribute(attribute) !== text) el.setAttribute(attribute, text);
}

// Fills every [data-i18n] and [data-i18n-<attribute>] under `root`, and <html lang>.
export function applyTranslations(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const text = t(el.dataset.i18n, el.__i18nParams);
    if (el.textContent !== text) el.textContent = text;
  }
  for (const attribute of ATTRIBUTES) {
    for (const el of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      const params = el.__i18nAttrParams && el.__i18nAttrParams[attribute];
      el.setAttribute(attribute, t(el.getAttribute(`data-i18n-${attribute}`), params));
    }
  }
  const switcher = document.getElementById("language");
  if (switcher && switcher.value !== lang) switcher.value = lang;
}

// Called after every language switch (pages re-render what they built in code).
export function onLanguageChange(fn) {
  listeners.add(fn);
}

export function setLanguage(next) {
  if (!own(CATALOGUES, next)) return;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered without storage; this page still switches.
  }
  if (next === lang) return;
  lang = next;
  applyTranslations();
  for (const fn of listeners) fn(lang);
}

// Translates the page now and wires the header's language picker (#language).
export function initI18n() {
  Object.defineProperty(window, "__i18nMissing", { value: missing, configurable: true });
  const switcher = document.getElementById("language");
  if (switcher) {
    switcher.replaceChildren(
      ...LANGUAGES.map(({ code, name }) => {
        const option = document.createElement("option");
        option.value = code;
        option.lang = code;
        option.textContent = name;
        return option;
      }),
    );
    switcher.addEventListener("change", () => setLanguage(switcher.value));
  }
  applyTranslations();
}
