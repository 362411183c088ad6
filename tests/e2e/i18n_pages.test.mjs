// The three pages in the visitor's language (issue 10): Vietnamese for a vi-VN browser, English
// otherwise, a language switcher that changes every text at once and is remembered, API errors
// in words of the page's language, and on a 390x844 phone: touch targets of at least 44 px,
// every control labelled, nothing wider than the screen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { launchBrowser, newPage, pageLog, waitFor } from './lib/browser.mjs';
import { EN_BROWSER, englishLeft, loadCatalogues, PHONE, scrollsSideways, touchTargetProblems, untranslated,
  VI_BROWSER } from './lib/pages.mjs';
import { startLiveroom } from './lib/server.mjs';

const TITLE = 'Lớp học online';
const HOST = 'Cô Lan';

let server;
let browser;
let api;
let en;
let vi;
let room;

before(async () => {
  server = await startLiveroom();
  api = new Api(server.url);
  browser = await launchBrowser();
  ({ en, vi } = await loadCatalogues());
  room = await api.create({ title: TITLE, host: HOST });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const context = (page) => async () => `--- page log ---\n${pageLog(page)}\n--- server log ---\n${server.logTail()}`;
const text = (page, selector) => page.locator(selector).textContent();
const lang = (page) => page.evaluate(() => document.documentElement.lang);

// Opens each page the way a person gets there and waits until it has loaded its data.
const PAGES = {
  lobby: async (page) => {
    await page.goto(`${server.url}/`);
    await waitFor(() => page.locator('#live-rooms').getAttribute('data-loaded'), { what: 'lobby loaded',
      accept: (v) => v === 'true', context: context(page) });
  },
  studio: async (page) => {
    await page.goto(`${server.url}/studio/${room.room_id}#token=${room.host_token}`);
    await waitFor(() => page.locator('#camera option').count(), { what: 'studio devices listed', accept: (n) => n > 1,
      context: context(page) });
  },
  watch: async (page) => {
    await page.goto(`${server.url}/watch/${room.room_id}`);
    await waitFor(() => page.locator('#status').getAttribute('data-state'), { what: 'watch waiting',
      accept: (s) => s === 'waiting', context: context(page) });
  },
};

// A few texts per page and language that must be there, as a person reads them.
const EXPECT = {
  vi: {
    lobby: { '#create': 'Tạo phòng', '#open-heading': 'Phòng đang mở', [`li[data-room-id="${'ROOM'}"] .badge`]: 'Chưa phát' },
    studio: { '#go-live': 'Phát trực tiếp', '#end-room': 'Kết thúc phòng', '#status': 'Chưa phát' },
    watch: { '#status': `Đang chờ ${HOST} bắt đầu phát…`, '#poster-title': TITLE, '#room-host': `Người phát: ${HOST}` },
  },
  en: {
    lobby: { '#create': 'Create room', '#open-heading': 'Open rooms', [`li[data-room-id="${'ROOM'}"] .badge`]: 'Not live yet' },
    studio: { '#go-live': 'Go live', '#end-room': 'End room', '#status': 'Not live' },
    watch: { '#status': `Waiting for ${HOST} to go live…`, '#poster-title': TITLE, '#room-host': `by ${HOST}` },
  },
};

async function expectLanguage(page, name, language) {
  assert.equal(await lang(page), language, `${name}: <html lang>`);
  for (const [selector, want] of Object.entries(EXPECT[language][name])) {
    assert.equal((await text(page, selector.replace('ROOM', room.room_id))).trim(), want, `${name} ${language} ${selector}`);
  }
  assert.deepEqual(await untranslated(page), [], `${name} ${language}: untranslated`);
  const ignore = [TITLE, HOST]; // the room's own words, in any language
  const other = language === 'vi' ? await englishLeft(page, en, vi, { ignore }) : await englishLeft(page, vi, en, { ignore });
  assert.deepEqual(other, [], `${name} ${language}: text of the other language left`);
}

test('a vi-VN browser gets the three pages in Vietnamese, an en-US or fr-FR browser in English', async () => {
  for (const [language, options] of [['vi', VI_BROWSER], ['en', EN_BROWSER],
    ['en', { locale: 'fr-FR', extraHTTPHeaders: { 'Accept-Language': 'fr-FR,fr;q=0.9' } }]]) {
    const { page } = await newPage(browser, options);
    for (const [name, open] of Object.entries(PAGES)) {
      await open(page);
      await expectLanguage(page, name, language);
    }
    await page.context().close();
  }
});

test('API errors and form checks in the page\'s language (codes stay stable)', async () => {
  const { page } = await newPage(browser, VI_BROWSER);
  await PAGES.lobby(page);
  await page.click('#create');
  assert.equal(await text(page, '#create-error'), vi['lobby.need_title']);
  // A title the server refuses (a bidirectional override character): invalid_field, in Vietnamese
  // with the server's detail.
  await page.fill('#title', 'Lớp \u202Ehọc');
  await page.fill('#host', HOST);
  await page.click('#create');
  await waitFor(() => page.locator('#create-error').getAttribute('data-code'), { what: 'invalid_field',
    accept: (c) => c === 'invalid_field', context: context(page) });
  assert.match(await text(page, '#create-error'), /^Thông tin nhập chưa hợp lệ: Title must not contain/);
  // Switching the language re-words the error already shown.
  await page.selectOption('#language', 'en');
  assert.match(await text(page, '#create-error'), /^Something you entered was not accepted: Title must not contain/);
  await page.context().close();
});

test('the language switcher changes every text at once and is remembered', async () => {
  const { page } = await newPage(browser, EN_BROWSER);
  await PAGES.lobby(page);
  await expectLanguage(page, 'lobby', 'en');
  await page.selectOption('#language', 'vi');
  await expectLanguage(page, 'lobby', 'vi');
  assert.equal(await page.evaluate(() => localStorage.getItem('liveroom.lang')), 'vi');
  await page.reload();
  await waitFor(() => page.locator('#live-rooms').getAttribute('data-loaded'), { what: 'lobby reloaded',
    accept: (v) => v === 'true', context: context(page) });
  await expectLanguage(page, 'lobby', 'vi');
  // Remembered for the other pages too (same browser, English navigator.languages).
  await PAGES.watch(page);
  await expectLanguage(page, 'watch', 'vi');
  assert.equal(await page.title(), `${TITLE} · liveroom`);
  await page.selectOption('#language', 'en');
  await expectLanguage(page, 'watch', 'en');
  assert.equal(await text(page, '#overlay-text'), `Waiting for ${HOST} to go live…`);
  await PAGES.studio(page);
  await expectLanguage(page, 'studio', 'en');
  await page.context().close();
});

test('phones (390x844): 44 px touch targets, labelled controls, nothing wider than the screen', async () => {
  const { page } = await newPage(browser, { ...VI_BROWSER, ...PHONE });
  for (const [name, open] of Object.entries(PAGES)) {
    await open(page);
    assert.deepEqual(await touchTargetProblems(page), [], `${name}: touch targets`);
    assert.equal(await scrollsSideways(page), false, `${name}: scrolls sideways`);
  }
  await page.context().close();
});
