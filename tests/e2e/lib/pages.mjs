// Checks on liveroom's own web pages (web/): languages, phones, touch targets.
//
//   const { en, vi } = await loadCatalogues();
//   const { page } = await newPage(browser, { ...VI_BROWSER, ...PHONE });
//   assert.deepEqual(await untranslated(page), []);
//   assert.deepEqual(await englishLeft(page, en, vi), []);
//   assert.deepEqual(await touchTargetProblems(page), []);
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { REPO } from './server.mjs';

/** Context options of a Vietnamese browser (navigator.languages and Accept-Language). */
export const VI_BROWSER = Object.freeze({ locale: 'vi-VN', extraHTTPHeaders: { 'Accept-Language': 'vi-VN,vi;q=0.9' } });
/** Context options of an English browser. */
export const EN_BROWSER = Object.freeze({ locale: 'en-US', extraHTTPHeaders: { 'Accept-Language': 'en-US,en;q=0.9' } });
/** A phone held upright (390x844 CSS pixels, touch, mobile viewport). */
export const PHONE = Object.freeze({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

/** The pages' catalogues, web/i18n/en.js and vi.js: { en, vi } (flat key -> text objects). */
export async function loadCatalogues() {
  const load = async (lang) => (await import(pathToFileURL(path.join(REPO, 'web', 'i18n', `${lang}.js`)).href)).default;
  return { en: await load('en'), vi: await load('vi') };
}

// A catalogue key ("watch.status_live") or a placeholder left unfilled ("{host}").
const KEY_RE = /\b(?:common|lobby|studio|watch|player|obs|error|time)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*\b/g;
const PLACEHOLDER_RE = /\{[a-z_]+\}/g;

/**
 * Everything a person can read on the page now: visible text, the document title, and the
 * aria-label / placeholder / title / alt of visible elements. One string per source.
 */
export async function readableTexts(page) {
  return page.evaluate(() => {
    const out = [document.title, document.body.innerText];
    const visible = (el) => {
      if (el.closest('[hidden]')) return false;
      const style = getComputedStyle(el);
      return style.display !== 'none' && style.visibility !== 'hidden';
    };
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [alt], option')) {
      if (el.tagName === 'TITLE') continue;
      if (el.tagName === 'OPTION') {
        if (visible(el.parentElement)) out.push(el.textContent);
        continue;
      }
      if (!visible(el)) continue;
      for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
        const v = el.getAttribute(name);
        if (v) out.push(v);
      }
    }
    return out;
  });
}

/**
 * What looks untranslated: catalogue keys or {placeholders} in readableTexts(), and the keys the
 * page's t() could not find in its language (window.__i18nMissing). Empty when all is well.
 */
export async function untranslated(page) {
  const found = [];
  for (const text of await readableTexts(page)) {
    for (const m of text.match(KEY_RE) || []) found.push(`key shown: ${m}`);
    for (const m of text.match(PLACEHOLDER_RE) || []) found.push(`placeholder shown: ${m} in "${text.slice(0, 120)}"`);
  }
  const missing = await page.evaluate(() => window.__i18nMissing || ['window.__i18nMissing is not set: no i18n?']);
  for (const m of missing) found.push(`missing in catalogue: ${m}`);
  return found;
}

/**
 * English left on a page that should be Vietnamese: every English catalogue text (without
 * placeholders, at least `minLength` characters, different from its Vietnamese) found in what
 * the page shows. `ignore`: texts that are the page's data, not its words (a room titled
 * "Lớp học online" on an English page). Swap the catalogues to look for Vietnamese left on an
 * English page.
 */
export async function englishLeft(page, en, vi, { minLength = 6, ignore = [] } = {}) {
  const texts = (await readableTexts(page)).join('\n');
  const left = [];
  for (const [key, value] of Object.entries(en)) {
    if (value.length < minLength || value.includes('{') || value === vi[key] || ignore.includes(value)) continue;
    if (texts.includes(value)) left.push(`${key}: "${value}"`);
  }
  return left;
}

/**
 * Visible controls (buttons, links styled as buttons, inputs, selects, summaries, the header's
 * links) that are smaller than `min` x `min` CSS pixels or have no accessible name (label,
 * aria-label, aria-labelledby or text). Each problem is a string naming the element.
 */
export async function touchTargetProblems(page, { min = 44 } = {}) {
  return page.evaluate((min) => {
    const problems = [];
    const name = (el) => {
      if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
      const by = el.getAttribute('aria-labelledby');
      if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' ').trim();
      if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(' ').trim();
      return el.textContent.trim();
    };
    const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
    const selector = 'button, a.button, header a, input:not([type=hidden]), select, summary, [role=button]';
    for (const el of document.querySelectorAll(selector)) {
      if (el.closest('[hidden]')) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      if (box.width < min - 0.5 || box.height < min - 0.5) {
        problems.push(`${describe(el)} is ${Math.round(box.width)}x${Math.round(box.height)} px`);
      }
      if (!name(el)) problems.push(`${describe(el)} has no accessible name`);
    }
    return problems;
  }, min);
}

/** Whether the page scrolls sideways (content wider than the viewport). */
export async function scrollsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/** The bounding box of the first element matching `selector` (CSS pixels), or null. */
export async function box(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  }, selector);
}
